package dev.align4j.pipeline;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Configs;
import dev.align4j.core.Json;
import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.StepPair;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Sampler;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.PrefixScorer;
import dev.align4j.reward.RewardFunction;
import dev.align4j.reward.Rewards;
import dev.align4j.task.ChainTask;
import dev.align4j.task.Task;
import dev.align4j.train.Checkpoints;
import dev.align4j.train.RunConfig;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Batching;
import dev.align4j.train.offline.Dpo;
import org.bytedeco.javacpp.PointerScope;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MCTS step-level preferences and iterated step-level DPO (MCTS-DPO: Xie, Goyal, Zheng, Kan, Lillicrap, Kawaguchi, Shieh
 * 2024, "Monte Carlo Tree Search Boosts Reasoning via Iterative Preference Learning", arXiv 2405.00451), with Step-APO
 * (Wang et al. 2024, CPL) as a loss option:
 *
 * <pre>
 * for round t = 1..R:
 *     for the round's prompts, in lockstep (one batched generation per phase over all trees):
 *         repeat S simulations:
 *             select: from the root, child = argmax Q(c) + c_puct · P(c) · √N(parent) / (1 + N(c)), down to a leaf
 *             expand: K next steps sampled from π_{t−1} (stop at the separator; a step ending in EOS is terminal)
 *             evaluate each new child: outcome reward of rollouts completed by π_{t−1} from it (a terminal step: its own
 *                     reward), optionally (1 − w)·outcome + w·PrefixScorer
 *             backup: every node on the path counts the value, Q = mean of the values below it
 *     pairs: at every expanded node, the highest-Q child ≻ the lowest-Q child when their gap exceeds min-gap
 *     π_t = step-level DPO (+ RPO's NLL on the chosen step by default) on the pairs from π_{t−1}, reference π_{t−1}
 *           (the round's starting policy)
 *     log, evaluate on held-out prompts, checkpoint-t
 * </pre>
 *
 * The prior P(c) is the policy's probability of the step with MCTS-DPO's length penalty, exp(Σ log π / |step|^λ),
 * normalised over the siblings (the authors' code leaves it unnormalised; normalised it is AlphaZero's prior). Node values
 * come from outcome rollouts, as the brief of issue 20 asks, not from MCTS-DPO's self-evaluation prompt. The backup is
 * the mean of the values beneath a node (the authors weight children's Q by visits, the same mean when every evaluation
 * is one visit). A step is trained as the policy wrote it: an intermediate step with its separator and without EOS, a
 * final one with EOS ({@link StepPair}).
 *
 * <p>{@link Mode#OUTCOME} is the baseline at equal sampling cost: whole completions sampled per prompt from the same
 * policy until the round's token budget (the search's {@code sampled_tokens}) is spent, best vs worst by the reward as an
 * outcome-level pair, trained by the same DPO. Each round's DPO logs into {@code OUTPUT/dpo-t/}, its pairs go to
 * {@code OUTPUT/round-t/pairs.jsonl}, the round's metrics to {@code OUTPUT/metrics.jsonl} (stage {@code mcts}, step = round).
 * No training loop of its own: each DPO runs on the shared {@link dev.align4j.train.Loop}. Never holds gradients while searching.
 */
public final class Mcts {
    private Mcts() {}

    /** Where a round's pairs come from. */
    public enum Mode {
        /** tree search over steps, sibling step pairs (MCTS-DPO) */
        TREE,
        /** whole completions sampled up to a token budget, best vs worst per prompt (outcome-level DPO, the baseline) */
        OUTCOME
    }

    /**
     * Settings; {@code run} and {@code batching} are each round's DPO ({@code steps} = DPO steps per round), except
     * {@code saveEvery} and {@code evalEvery}, which count rounds, and {@code keep}, the round checkpoints kept.
     *
     * @param rounds          R, search → DPO rounds, each on the previous round's policy
     * @param promptsPerRound training prompts searched each round (drawn afresh, seeded by the round)
     * @param mode            tree (MCTS step pairs) or outcome (the equal-budget outcome-level baseline)
     * @param simulations     S, simulations per prompt (each selects a leaf and expands it, or re-counts a terminal leaf)
     * @param children        K, next steps sampled per expansion (identical ones merged)
     * @param cPuct           c_puct, the exploration weight of PUCT
     * @param priorLengthPenalty   λ of the prior exp(Σ log π / |step|^λ) (MCTS-DPO's code: 1.25)
     * @param temperature     sampling temperature of steps, rollouts and the baseline's completions
     * @param separator       the text that ends a step (generation of a step stops at it)
     * @param maxStepTokens   longest step; a step cut there is terminal
     * @param maxNewTokens    longest completion: a rollout's budget, and a node that has written this many tokens is terminal
     * @param maxDepth        most steps in a completion; a node at this depth is terminal
     * @param rollouts        rollouts per new non-terminal node, averaged into its value (one rollout ranked a right step
     *                        below a wrong one in a third of the chain pairs; four, in a tenth)
     * @param minGap          a pair needs Q(best) − Q(worst) above this
     * @param prmWeight       w: node value = (1 − w)·outcome + w·PrefixScorer score (0: outcome only)
     * @param tokenBudget     outcome mode: sampled tokens per round, one value per round (the last repeats)
     * @param genBatch        rows per generation call
     * @param losses          the DPO loss(es): sigmoid (MCTS-DPO), step_apo (Step-APO), …
     * @param beta            DPO's β
     * @param labelSmoothing  cDPO's ε
     * @param rpoAlpha        NLL-on-chosen weight (RPO, Pang et al. 2024); 0 = MCTS-DPO's plain DPO, which on the tiny chain
     *                        models lowered both sides' log-probs and collapsed accuracy (docs/results-parts/mcts.md)
     * @param apoAlpha        Step-APO's α
     */
    public record Config(@JsonUnwrapped RunConfig run, @JsonUnwrapped Batching batching, int rounds, int promptsPerRound, Mode mode,
                         int simulations, int children, double cPuct, double priorLengthPenalty, double temperature, String separator, int maxStepTokens,
                         int maxNewTokens, int maxDepth, int rollouts, double minGap, double prmWeight, List<Long> tokenBudget, int genBatch,
                         List<PreferenceLoss.Variant> losses, double beta, double labelSmoothing, double rpoAlpha, double apoAlpha) {
        public static final Config DEFAULTS = Configs.of(Config.class, Batching.COMMON, "steps", 30, "lr", 5e-5, "warmupSteps", 10,
                "batchSize", 32, "maxLength", 64, "saveEvery", 1, "evalEvery", 1,
                "rounds", 3, "promptsPerRound", 128, "mode", Mode.TREE, "simulations", 8, "children", 4, "cPuct", 1.0, "priorLengthPenalty", 1.25,
                "temperature", 1.0, "separator", ChainTask.SEPARATOR, "maxStepTokens", 8, "maxNewTokens", 24, "maxDepth", 8, "rollouts", 4, "minGap", 0.5, "prmWeight", 0.0,
                "tokenBudget", List.of(), "genBatch", 256,
                "losses", List.of(PreferenceLoss.Variant.SIGMOID), "beta", 0.1, "labelSmoothing", 0.0, "rpoAlpha", 1.0, "apoAlpha", 1.0);

        public Config {
            mode = mode == null ? Mode.TREE : mode;
            tokenBudget = tokenBudget == null ? List.of() : List.copyOf(tokenBudget);
            losses = losses == null ? List.of(PreferenceLoss.Variant.SIGMOID) : List.copyOf(losses);
            UserError.check(rounds >= 1, "rounds must be >= 1: %s", rounds);
            UserError.check(promptsPerRound >= 1, "prompts-per-round must be >= 1: %s", promptsPerRound);
            UserError.check(simulations >= 1, "simulations must be >= 1: %s", simulations);
            UserError.check(children >= 2, "children must be >= 2 (a pair compares siblings): %s", children);
            UserError.check(cPuct >= 0, "c-puct must be >= 0: %s", cPuct);
            UserError.check(priorLengthPenalty >= 0, "prior-length-penalty must be >= 0: %s", priorLengthPenalty);
            UserError.check(temperature > 0, "temperature must be > 0 (at 0 all K children are the greedy step): %s", temperature);
            UserError.check(separator != null && !separator.isEmpty(), "separator must not be empty");
            UserError.check(maxStepTokens >= 1, "max-step-tokens must be >= 1: %s", maxStepTokens);
            UserError.check(maxNewTokens >= 1, "max-new-tokens must be >= 1: %s", maxNewTokens);
            UserError.check(maxDepth >= 1, "max-depth must be >= 1: %s", maxDepth);
            UserError.check(rollouts >= 1, "rollouts must be >= 1: %s", rollouts);
            UserError.check(minGap >= 0, "min-gap must be >= 0: %s", minGap);
            UserError.check(prmWeight >= 0 && prmWeight <= 1, "prm-weight must be in [0, 1]: %s", prmWeight);
            for (long b : tokenBudget) UserError.check(b >= 1, "token-budget values must be >= 1: %s", b);
            UserError.check(mode != Mode.OUTCOME || !tokenBudget.isEmpty(),
                    "--mode outcome needs --token-budget (the sampled tokens of the search it is compared with: its mcts/sampled_tokens per round)");
            UserError.check(genBatch >= 1, "gen-batch must be >= 1: %s", genBatch);
            UserError.check(!losses.isEmpty(), "--loss needs at least one variant");
            UserError.check(mode != Mode.OUTCOME || losses.stream().noneMatch(PreferenceLoss.Variant::needsAdvantages),
                    "--loss step_apo needs the search's advantages: use it with --mode tree");
        }

        long budget(int round) { return tokenBudget.get(Math.min(round - 1, tokenBudget.size() - 1)); }
    }

    /** How the run ended: each round's metrics (stage {@code mcts}) and the newest checkpoint. */
    public record Result(List<Map<String, Double>> rounds, Path lastCheckpoint) {}

    // ------------------------------------------------------------------------------------------------ the tree

    /**
     * A node: the prompt plus the steps written so far (its path from the root). Values are means over the evaluations
     * below it: {@code visits} counts them, {@code total} sums them.
     */
    public static final class Node {
        final Node parent;
        /** the step as written: its text and separator, or its text when EOS (or the step limit) ended it; "" at the root */
        final String step;
        /** the step ended with EOS: the completion is complete */
        final boolean eos;
        /** no step follows: EOS, a step cut at max-step-tokens, or the depth / token limit */
        final boolean terminal;
        final int depth;
        /** completion tokens from the root to here */
        final int tokens;
        /** P(step | prefix), normalised over the siblings */
        double prior;
        /** the node's own evaluation (rollouts from it, or its outcome when terminal); NaN at the root */
        double value = Double.NaN;
        List<Node> children;                                   // null until expanded
        int visits;
        double total;

        Node(Node parent, String step, boolean eos, boolean terminal, int tokens, double prior) {
            this.parent = parent;
            this.step = step;
            this.eos = eos;
            this.terminal = terminal;
            this.depth = parent == null ? 0 : parent.depth + 1;
            this.tokens = tokens;
            this.prior = prior;
        }

        static Node root() { return new Node(null, "", false, false, 0, 1.0); }

        /** Adds a child (for the search, and for building trees by hand). */
        Node add(String step, boolean eos, boolean terminal, int tokens, double prior) {
            if (children == null) children = new ArrayList<>();
            Node c = new Node(this, step, eos, terminal, tokens, prior);
            children.add(c);
            return c;
        }

        /** Q: the mean of the values counted here (0 before any). */
        public double q() { return visits == 0 ? 0 : total / visits; }

        /** The steps from the root to here, concatenated: what follows the prompt. */
        public String prefix() { return parent == null ? "" : parent.prefix() + step; }

        /** Nodes in this subtree, this one excluded. */
        int size() {
            int n = 0;
            if (children != null) for (Node c : children) n += 1 + c.size();
            return n;
        }

        int maxDepth() {
            int d = depth;
            if (children != null) for (Node c : children) d = Math.max(d, c.maxDepth());
            return d;
        }
    }

    /** PUCT (AlphaZero; MCTS-DPO's selection): the child maximising Q(c) + c_puct · P(c) · √N(parent) / (1 + N(c)); ties: the first. */
    static Node puct(Node parent, double cPuct) {
        Node best = null;
        double bestScore = Double.NEGATIVE_INFINITY, sqrtN = Math.sqrt(parent.visits);
        for (Node c : parent.children) {
            double score = c.q() + cPuct * c.prior * sqrtN / (1 + c.visits);
            if (score > bestScore) { bestScore = score; best = c; }
        }
        return best;
    }

    /** From the root by PUCT down to a node without children: a leaf to expand, or a terminal node. */
    static Node select(Node root, double cPuct) {
        Node n = root;
        while (n.children != null && !n.children.isEmpty()) n = puct(n, cPuct);
        return n;
    }

    /** Backup: {@code node} and every ancestor count the value once more; each Q stays the mean of the values below it. */
    static void backup(Node node, double value) {
        for (Node n = node; n != null; n = n.parent) {
            n.visits++;
            n.total += value;
        }
    }

    /**
     * Step pairs of one tree: at every node with two or more children, the highest-Q child (chosen) and the lowest-Q
     * child (rejected), ties to the first, when Q(chosen) − Q(rejected) &gt; {@code minGap}. The pair's prompt is the
     * original prompt + the node's prefix; each side is the step as written; V(s) is the node's Q. Depth-first order.
     */
    static List<StepPair> pairs(Node root, String prompt, double minGap) {
        List<StepPair> out = new ArrayList<>();
        collect(root, prompt, minGap, out, new ArrayList<>());
        return out;
    }

    /** Adds the pairs of {@code n}'s subtree to {@code out}, and the depth of each pair's shared prefix (steps before it) to {@code depths}. */
    private static void collect(Node n, String prompt, double minGap, List<StepPair> out, List<Integer> depths) {
        if (n.children == null) return;
        if (n.children.size() >= 2) {
            Node best = n.children.get(0), worst = n.children.get(0);
            for (Node c : n.children) {
                if (c.q() > best.q()) best = c;
                if (c.q() < worst.q()) worst = c;
            }
            if (best.q() - worst.q() > minGap) {
                out.add(new StepPair(prompt + n.prefix(), best.step, worst.step, best.eos, worst.eos, best.q(), worst.q(), n.q()));
                depths.add(n.depth);
            }
        }
        for (Node c : n.children) collect(c, prompt, minGap, out, depths);
    }

    // ------------------------------------------------------------------------------------------------ the search

    /** One round's search: the trees (one per prompt), their pairs, and the tokens sampled to grow them. */
    public record Search(List<Task.Example> prompts, List<Node> roots, List<StepPair> pairs, List<Integer> pairDepths, int promptsPaired,
                         long sampledTokens, double rolloutReward) {
        /** The round's metrics under their {@code mcts/} names (without the prefix). */
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("pairs", (double) pairs.size());
            m.put("sampled_tokens", (double) sampledTokens);
            m.put("mean_q_gap", pairs.stream().mapToDouble(p -> p.chosenQ() - p.rejectedQ()).average().orElse(Double.NaN));
            m.put("tree_nodes", roots.stream().mapToDouble(Node::size).average().orElse(0));
            m.put("tree_depth", roots.stream().mapToDouble(Node::maxDepth).average().orElse(0));
            m.put("pair_depth", pairDepths.stream().mapToDouble(Integer::doubleValue).average().orElse(Double.NaN));
            m.put("frac_prompts_paired", promptsPaired / (double) Math.max(1, prompts.size()));
            m.put("frac_final_pairs", pairs.stream().filter(p -> p.chosenFinal() || p.rejectedFinal()).count() / (double) Math.max(1, pairs.size()));
            m.put("rollout_reward", rolloutReward);
            m.put("root_value", roots.stream().mapToDouble(Node::q).average().orElse(0));
            return m;
        }
    }

    /**
     * Searches every prompt's tree in lockstep: each simulation selects one leaf per tree and expands all of them in one
     * batched generation ({@code genBatch} rows per call), then evaluates all new nodes in a second one. Never takes
     * gradients. {@code scorer} may be null when {@code prmWeight} is 0.
     */
    public static Search search(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, Rewards.Weighted reward, PrefixScorer scorer,
                                Config cfg, long seed) {
        String separator = cfg.separator();
        if (cfg.prmWeight() > 0 && scorer == null) throw new UserError("--prm-weight > 0 needs a prefix scorer (--prm DIR)");
        List<Node> roots = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) roots.add(Node.root());
        long tokens = 0;
        double rewardSum = 0;
        long rewardCount = 0;
        SamplingConfig stepCfg = new SamplingConfig(cfg.maxStepTokens(), cfg.temperature(), 0, 1.0, seed, List.of(separator));
        SamplingConfig rollCfg = new SamplingConfig(cfg.maxNewTokens(), cfg.temperature(), 0, 1.0, seed, List.of());
        for (int sim = 0; sim < cfg.simulations(); sim++) {
            // 1. select one leaf per tree; a terminal leaf counts its value again (no generation)
            List<Integer> trees = new ArrayList<>();
            List<Node> leaves = new ArrayList<>();
            for (int i = 0; i < roots.size(); i++) {
                Node leaf = select(roots.get(i), cfg.cPuct());
                if (leaf.terminal) backup(leaf, leaf.value);
                else { trees.add(i); leaves.add(leaf); }
            }
            if (leaves.isEmpty()) break;
            // 2. expand: K next steps of every leaf, one batched generation
            List<int[]> ids = new ArrayList<>();
            for (int j = 0; j < leaves.size(); j++) {
                int[] p = tok.encode(prompts.get(trees.get(j)).prompt() + leaves.get(j).prefix(), true);
                for (int k = 0; k < cfg.children(); k++) ids.add(p);
            }
            List<Completion> steps = generate(policy, tok, ids, stepCfg.withSeed(seed * 1_000_003L + 2L * sim), cfg.genBatch());
            List<Node> fresh = new ArrayList<>();
            List<Integer> freshTree = new ArrayList<>();
            for (int j = 0; j < leaves.size(); j++) {
                List<Node> kids = expand(leaves.get(j), steps.subList(j * cfg.children(), (j + 1) * cfg.children()), separator, cfg);
                for (Node c : kids) { fresh.add(c); freshTree.add(trees.get(j)); }
            }
            for (Completion c : steps) tokens += c.tokens().length;
            // 3. evaluate the new nodes: a terminal one by its own outcome, the others by rollouts to the end
            List<RewardFunction.Sample> samples = new ArrayList<>();
            List<int[]> rollIds = new ArrayList<>();
            List<Integer> rollOf = new ArrayList<>();
            for (int j = 0; j < fresh.size(); j++) {
                Node c = fresh.get(j);
                Task.Example ex = prompts.get(freshTree.get(j));
                if (c.terminal) continue;
                int[] p = tok.encode(ex.prompt() + c.prefix(), true);
                for (int r = 0; r < cfg.rollouts(); r++) { rollIds.add(p); rollOf.add(j); }
            }
            List<Completion> rolls = generate(policy, tok, rollIds, rollCfg.withSeed(seed * 1_000_003L + 2L * sim + 1), cfg.genBatch());
            for (Completion c : rolls) tokens += c.tokens().length;
            double[] outcome = new double[fresh.size()];
            int[] count = new int[fresh.size()];
            for (int j = 0; j < fresh.size(); j++) {
                Node c = fresh.get(j);
                if (c.terminal) samples.add(new RewardFunction.Sample(prompts.get(freshTree.get(j)), c.prefix(), c.tokens, !c.eos));
            }
            for (int r = 0; r < rolls.size(); r++) {
                Node c = fresh.get(rollOf.get(r));
                Completion roll = rolls.get(r);
                samples.add(new RewardFunction.Sample(prompts.get(freshTree.get(rollOf.get(r))), c.prefix() + roll.text(),
                        c.tokens + roll.tokens().length, roll.finishReason().equals("length")));
            }
            double[] scores = samples.isEmpty() ? new double[0] : reward.score(samples).total();
            int s = 0;
            for (int j = 0; j < fresh.size(); j++) if (fresh.get(j).terminal) { outcome[j] += scores[s++]; count[j]++; }
            for (int r = 0; r < rolls.size(); r++) { outcome[rollOf.get(r)] += scores[s++]; count[rollOf.get(r)]++; }
            for (double x : scores) rewardSum += x;
            rewardCount += scores.length;
            double[] prm = null;
            if (cfg.prmWeight() > 0) {
                List<String> ps = new ArrayList<>(), partial = new ArrayList<>();
                for (int j = 0; j < fresh.size(); j++) { ps.add(prompts.get(freshTree.get(j)).prompt()); partial.add(fresh.get(j).prefix()); }
                prm = scorer.score(ps, partial);
            }
            // 4. backup: each new node's value counts at it and at every ancestor
            for (int j = 0; j < fresh.size(); j++) {
                double v = outcome[j] / count[j];
                if (prm != null) v = (1 - cfg.prmWeight()) * v + cfg.prmWeight() * prm[j];
                fresh.get(j).value = v;
                backup(fresh.get(j), v);
            }
        }
        List<StepPair> pairs = new ArrayList<>();
        List<Integer> depths = new ArrayList<>();
        int paired = 0;
        for (int i = 0; i < roots.size(); i++) {
            int before = pairs.size();
            collect(roots.get(i), prompts.get(i).prompt(), cfg.minGap(), pairs, depths);
            if (pairs.size() > before) paired++;
        }
        return new Search(prompts, roots, pairs, depths, paired, tokens, rewardCount == 0 ? Double.NaN : rewardSum / rewardCount);
    }

    /**
     * The children of {@code leaf} from its K sampled steps: identical steps merged (the first kept), each step as written
     * (its text + the separator when the separator ended it), terminal when EOS ended it, the step limit cut it, or the
     * depth or token limit is reached; priors exp(Σ log π / |step|^λ) normalised over the children.
     */
    static List<Node> expand(Node leaf, List<Completion> steps, String separator, Config cfg) {
        Map<String, Completion> distinct = new LinkedHashMap<>();
        for (Completion c : steps) {
            distinct.putIfAbsent(c.finishReason() + "\u0000" + c.text(), c);   // the same text ended the same way
        }
        double[] prior = new double[distinct.size()];
        double sum = 0;
        int i = 0;
        for (Completion c : distinct.values()) {
            int n = Math.max(1, c.tokens().length);
            prior[i] = Math.exp(c.sumLogprob() / Math.pow(n, cfg.priorLengthPenalty()));
            sum += prior[i++];
        }
        List<Node> out = new ArrayList<>();
        i = 0;
        for (Completion c : distinct.values()) {
            boolean stop = c.finishReason().equals("stop"), eos = c.finishReason().equals("eos");
            int tokens = leaf.tokens + c.tokens().length;
            boolean terminal = !stop || leaf.depth + 1 >= cfg.maxDepth() || tokens >= cfg.maxNewTokens();
            out.add(leaf.add(stop ? c.text() + separator : c.text(), eos, terminal, tokens, sum > 0 ? prior[i] / sum : 1.0 / prior.length));
            i++;
        }
        return out;
    }

    /** Sampled rows in chunks of {@code batch}, each chunk's seed advanced by its first row (so the samples are a function of the seed). */
    static List<Completion> generate(LlamaModel model, Tokenizer tok, List<int[]> ids, SamplingConfig sc, int batch) {
        List<Completion> out = new ArrayList<>(ids.size());
        for (int from = 0; from < ids.size(); from += batch)
            try (PointerScope scope = new PointerScope()) {
                out.addAll(Sampler.generate(model, tok, ids.subList(from, Math.min(ids.size(), from + batch)), sc.withSeed(sc.seed() + from)));
            }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ the baseline

    /** One round of the outcome-level baseline: the pairs and the tokens spent. */
    public record Outcome(List<StepPair> pairs, long sampledTokens, int samples, double sampleReward) {
        public Map<String, Double> metrics() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("pairs", (double) pairs.size());
            m.put("sampled_tokens", (double) sampledTokens);
            m.put("mean_q_gap", pairs.stream().mapToDouble(p -> p.chosenQ() - p.rejectedQ()).average().orElse(Double.NaN));
            m.put("samples", (double) samples);
            m.put("rollout_reward", sampleReward);
            return m;
        }
    }

    /**
     * Outcome-level pairs at a token budget: passes of one sampled completion per prompt until {@code budget} completion
     * tokens are spent (the last pass takes only as many prompts as the remaining budget buys at the mean length so far),
     * then per prompt its best ≻ its worst completion by the reward ({@link BestOfN#best} / {@link BestOfN#worst}) when
     * their rewards differ. Whole completions: EOS kept where the policy wrote it.
     */
    public static Outcome outcome(LlamaModel policy, Tokenizer tok, List<Task.Example> prompts, Rewards.Weighted reward, Config cfg, long budget, long seed) {
        List<List<Completion>> per = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) per.add(new ArrayList<>());
        List<int[]> encoded = new ArrayList<>();
        for (Task.Example e : prompts) encoded.add(tok.encode(e.prompt(), true));
        SamplingConfig sc = new SamplingConfig(cfg.maxNewTokens(), cfg.temperature(), 0, 1.0, seed, List.of());
        long spent = 0, drawn = 0;
        for (int pass = 0; spent < budget; pass++) {
            int n = prompts.size();
            if (drawn > 0) {
                double mean = spent / (double) drawn;
                n = (int) Math.min(n, Math.max(1, Math.ceil((budget - spent) / Math.max(1.0, mean))));
            }
            List<Completion> outs = generate(policy, tok, encoded.subList(0, n), sc.withSeed(seed * 1_000_003L + pass * 100_003L), cfg.genBatch());
            for (int i = 0; i < n; i++) { per.get(i).add(outs.get(i)); spent += outs.get(i).tokens().length; }
            drawn += n;
        }
        List<RewardFunction.Sample> samples = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++)
            for (Completion c : per.get(i)) samples.add(new RewardFunction.Sample(prompts.get(i), c.text(), c.tokens().length, c.finishReason().equals("length")));
        double[] r = reward.score(samples).total();
        List<StepPair> pairs = new ArrayList<>();
        int at = 0;
        double sum = 0;
        for (int i = 0; i < prompts.size(); i++) {
            int k = per.get(i).size();
            double[] ri = java.util.Arrays.copyOfRange(r, at, at + k);
            at += k;
            if (k < 2) continue;
            int b = BestOfN.best(ri), w = BestOfN.worst(ri);
            double mean = java.util.Arrays.stream(ri).average().orElse(0);
            Completion cb = per.get(i).get(b), cw = per.get(i).get(w);
            if (ri[b] > ri[w] && !cb.text().equals(cw.text()))
                pairs.add(new StepPair(prompts.get(i).prompt(), cb.text(), cw.text(), cb.finishReason().equals("eos"), cw.finishReason().equals("eos"), ri[b], ri[w], mean));
        }
        for (double x : r) sum += x;
        return new Outcome(pairs, spent, r.length, r.length == 0 ? Double.NaN : sum / r.length);
    }

    // ------------------------------------------------------------------------------------------------ the rounds

    /**
     * Runs R rounds on {@code policy} in place. {@code scorer} (may be null) mixes into node values with {@code prmWeight};
     * {@code io.eval()} (may be null) evaluates the policy after each round.
     */
    public static Result train(LlamaModel policy, Rewards.Weighted reward, List<Task.Example> prompts, PrefixScorer scorer, Config cfg, Session io) {
        long seed = cfg.run().seed();
        List<Map<String, Double>> log = new ArrayList<>();
        Path last = null;
        int start = 0;
        Path resumed = Checkpoints.resumeRound(policy, io, "mcts", "round");
        if (resumed != null) { last = resumed; start = (int) Checkpoints.stepOf(resumed); }
        for (int round = start + 1; round <= cfg.rounds(); round++) {
            List<Task.Example> batch = Rft.draw(prompts, cfg.promptsPerRound(), seed * 1_000_003L + round);
            // 1. pairs from the current policy: the tree search, or the outcome baseline at its token budget
            Map<String, Double> m;
            List<StepPair> pairs;
            if (cfg.mode() == Mode.TREE) {
                Search s = search(policy, io.tok(), batch, reward, scorer, cfg, seed * 7_919L + round);
                pairs = s.pairs();
                m = s.metrics();
            } else {
                Outcome o = outcome(policy, io.tok(), batch, reward, cfg, cfg.budget(round), seed * 7_919L + round);
                pairs = o.pairs();
                m = o.metrics();
            }
            if (io.output() != null) {
                List<ObjectNode> rows = new ArrayList<>();
                for (StepPair p : pairs) rows.add(p.toJson());
                Jsonl.write(io.output().resolve("round-" + round).resolve("pairs.jsonl"), rows);
            }
            // 2. step-level DPO from this round's policy, which is also the reference
            if (pairs.isEmpty()) System.err.printf("mcts: round %d found no pair (min gap %s); the policy is unchanged%n", round, cfg.minGap());
            else try (LlamaModel ref = policy.copy(policy.dtype);
                      Metrics dm = io.output() == null ? Metrics.inMemory().quiet(true) : Metrics.fresh(io.output().resolve("dpo-" + round))) {
                Dpo.Result r = Dpo.trainSteps(policy, ref, pairs, dpoConfig(cfg, seed + round), new Session(io.tok(), null, dm, null, null));
                m.put("dpo_loss", r.finalLoss());
                m.put("dpo_accuracy", r.finalAccuracy());
            }
            // 3. log, evaluate, checkpoint
            io.metrics().log("mcts", round, m);
            log.add(m);
            boolean lastRound = round == cfg.rounds();
            if (io.eval() != null && (lastRound || cfg.run().evalEvery() > 0 && round % cfg.run().evalEvery() == 0))
                io.metrics().log("eval/mcts", round, io.eval().evaluate(round));
            if (io.output() != null && (lastRound || cfg.run().saveEvery() > 0 && round % cfg.run().saveEvery() == 0)) {
                ObjectNode state = Json.object();
                state.put("trainer", "mcts");
                state.put("round", round);
                state.put("max_rounds", cfg.rounds());
                state.set("config", Json.MAPPER.valueToTree(cfg));
                last = Checkpoints.save(io.output(), round, policy, io.tok(), null, state, cfg.run().keep(), io.metrics(), last, null);
            }
        }
        return new Result(log, last);
    }

    /** Each round's DPO config: this config's run settings, batching and loss settings, by name, with the round's seed. */
    static Dpo.Config dpoConfig(Config cfg, long seed) {
        RunConfig r = cfg.run();
        Batching b = cfg.batching();
        return Configs.with(Dpo.Config.DEFAULTS, "steps", r.steps(), "lr", r.lr(), "weightDecay", r.weightDecay(), "warmupSteps", r.warmupSteps(),
                "maxGradNorm", r.maxGradNorm(), "gradAccum", r.gradAccum(), "onNonFinite", r.onNonFinite(), "loggingSteps", r.loggingSteps(), "dtype", r.dtype(),
                "seed", seed, "batchSize", b.batchSize(), "maxLength", b.maxLength(), "truncation", b.truncation(),
                "losses", cfg.losses(), "lossWeights", List.of(), "beta", cfg.beta(), "labelSmoothing", cfg.labelSmoothing(),
                "rpoAlpha", cfg.rpoAlpha(), "apoAlpha", cfg.apoAlpha());
    }
}
