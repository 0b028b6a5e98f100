package dev.align4j.train.online;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Distributed;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Constraints on reward components, by Lagrangian relaxation (constrained RLHF: Moskovitz et al. 2023, "Confronting
 * Reward Model Overoptimization with Constrained RLHF", arXiv 2310.04373; Safe RLHF: Dai et al. 2023, arXiv 2310.12773):
 *
 * <pre>
 * max_π E[r_obj]   s.t.   E[r_c] ≥ θ_c  (or ≤ θ_c)   for each constraint c
 * L(π, μ) = E[r_obj] + Σ_c μ_c·s_c·(E[r_c] − θ_c),   μ_c ≥ 0,   s_c = +1 for ≥, −1 for ≤
 * policy:  ascends L with the per-sample reward  r = r_obj + Σ_c μ_c·s_c·r_c   (−μθ is a constant: no advantage changes)
 * dual:    μ_c ← max(0, μ_c − η·s_c·(Ê[r_c] − θ_c))   after each step, Ê the step's mean over every rank's samples
 * </pre>
 *
 * r_obj is the weighted sum of the reward functions that are not constrained; a constrained function's weight is its μ.
 * A violated constraint raises its μ until the policy's reward for it outweighs what violating it gains; a satisfied one
 * lowers μ towards 0. The multipliers are this recipe's state: checkpoints carry them, so a resume continues exactly.
 */
public final class Constraints {
    /** One constraint: the mean of reward function {@code name} at least (or at most) {@code threshold}. */
    public record Constraint(String name, boolean atLeast, double threshold) {
        private static final Pattern SPEC = Pattern.compile("\\s*([A-Za-z0-9_:./-]+)\\s*(>=|<=)\\s*([-+]?\\d*\\.?\\d+(?:[eE][-+]?\\d+)?)\\s*");

        /** {@code NAME>=X} or {@code NAME<=X}. */
        public static Constraint parse(String spec) {
            Matcher m = SPEC.matcher(spec);
            if (!m.matches()) throw new UserError("--constraint " + spec + ": expected NAME>=X or NAME<=X, NAME a reward function of --reward (e.g. brief>=0.9)");
            return new Constraint(m.group(1), m.group(2).equals(">="), Double.parseDouble(m.group(3)));
        }

        /** s_c: +1 for ≥, −1 for ≤. */
        public double sign() { return atLeast ? 1 : -1; }

        @Override public String toString() { return name + (atLeast ? ">=" : "<=") + threshold; }
    }

    private final List<Constraint> list;
    private final double[] mu;
    private final double dualLr;

    /**
     * @param dualLr η, the multipliers' step size
     * @param mu0    every multiplier's start value (≥ 0)
     */
    public Constraints(List<Constraint> list, double dualLr, double mu0) {
        UserError.check(!list.isEmpty(), "constraints: at least one --constraint");
        UserError.check(dualLr > 0, "dual-lr must be > 0: %s", dualLr);
        UserError.check(mu0 >= 0, "lagrange-init must be >= 0: %s", mu0);
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Constraint c : list) UserError.check(names.add(c.name()), "--constraint %s is given twice", c.name());
        this.list = List.copyOf(list);
        this.dualLr = dualLr;
        this.mu = new double[list.size()];
        Arrays.fill(mu, mu0);
    }

    public List<Constraint> list() { return list; }

    /** The current multipliers μ, in the order of {@link #list}. */
    public double[] multipliers() { return mu.clone(); }

    /** Every constraint names a reward function of {@code reward}, and at least one function is left for the objective. */
    public void check(Rewards.Weighted reward) {
        List<String> fns = new ArrayList<>();
        for (RewardFunction f : reward.functions()) fns.add(f.name());
        for (Constraint c : list)
            UserError.check(fns.contains(c.name()), "--constraint %s: no reward function '%s' in --reward (it has %s)", c, c.name(), String.join(", ", fns));
        UserError.check(fns.size() > list.size(), "--constraint: every reward function is constrained; leave at least one in --reward as the objective");
    }

    /**
     * The per-sample Lagrangian rewards r_obj + Σ_c μ_c·s_c·r_c of one scored rollout (this rank's samples), and the metrics
     * {@code constraint/NAME} (the mean of r_c over every rank's samples) and {@code lagrange/NAME} (the μ_c used).
     */
    public double[] rewards(Rewards.Weighted reward, Rewards.Scored scored, Map<String, Double> m) {
        int n = scored.total().length;
        double[] out = new double[n];
        List<RewardFunction> fns = reward.functions();
        for (int k = 0; k < fns.size(); k++) {
            String name = fns.get(k).name();
            int c = indexOf(name);
            double w = c < 0 ? reward.weights()[k] : mu[c] * list.get(c).sign();
            double[] r = scored.components().get(name);
            for (int i = 0; i < n; i++) out[i] += w * r[i];
        }
        m.put("reward/lagrangian", Arrays.stream(out).average().orElse(0));
        for (int c = 0; c < list.size(); c++) {
            m.put("constraint/" + list.get(c).name(), globalMean(scored.components().get(list.get(c).name())));
            m.put("lagrange/" + list.get(c).name(), mu[c]);
        }
        return out;
    }

    /** The dual step after a rollout: μ_c ← max(0, μ_c − η·s_c·(Ê[r_c] − θ_c)), with Ê from {@link #rewards}'s metrics. */
    public void update(Map<String, Double> m) {
        for (int c = 0; c < list.size(); c++) {
            Constraint k = list.get(c);
            mu[c] = Math.max(0, mu[c] - dualLr * k.sign() * (m.get("constraint/" + k.name()) - k.threshold()));
        }
    }

    private int indexOf(String name) {
        for (int c = 0; c < list.size(); c++) if (list.get(c).name().equals(name)) return c;
        return -1;
    }

    private static double globalMean(double[] local) {
        double[] s = Distributed.get().sum(new double[]{Arrays.stream(local).sum(), local.length});
        return s[1] == 0 ? Double.NaN : s[0] / s[1];
    }

    /** The multipliers into a checkpoint's trainer state, by constraint. */
    public void save(ObjectNode state) {
        ArrayNode a = state.putArray("lagrange");
        for (int c = 0; c < list.size(); c++) a.add(Json.object().put("constraint", list.get(c).toString()).put("mu", mu[c]));
    }

    /** The multipliers from a checkpoint written with the same constraints, or a user error naming what differs. */
    public void restore(JsonNode state, java.nio.file.Path checkpoint) {
        JsonNode a = state.path("lagrange");
        List<String> saved = new ArrayList<>();
        a.forEach(e -> saved.add(e.path("constraint").asText()));
        List<String> now = list.stream().map(Constraint::toString).toList();
        if (!saved.equals(now))
            throw new UserError(checkpoint + ": written with the constraints " + saved + ", resumed with " + now + "; resume with the same --constraint flags");
        for (int c = 0; c < list.size(); c++) mu[c] = a.get(c).path("mu").asDouble();
    }
}
