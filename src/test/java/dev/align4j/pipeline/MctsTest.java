package dev.align4j.pipeline;

import dev.align4j.core.Configs;
import dev.align4j.core.Metrics;
import dev.align4j.core.Torch;
import dev.align4j.data.SftExample;
import dev.align4j.data.StepPair;
import dev.align4j.data.Tokenized;
import dev.align4j.generate.Completion;
import dev.align4j.loss.PreferenceLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.Rewards;
import dev.align4j.task.Task;
import dev.align4j.train.Session;
import dev.align4j.train.offline.Dpo;
import dev.align4j.train.offline.Sft;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** MCTS step pairs: PUCT, backup and pair extraction on hand-built trees, step tokenization, and a nano search → step-DPO round. */
class MctsTest {
    @TempDir Path dir;

    @Test
    void puctPicksByValuePlusExplorationAsWorkedOutByHand() {
        // parent N = 10, √N = 3.16228; children (N, Q, P): A (4, 0.5, 0.2), B (1, 0.0, 0.5), C (5, 0.6, 0.3)
        Mcts.Node parent = Mcts.Node.root();
        parent.visits = 10;
        Mcts.Node a = child(parent, "a;", 4, 2.0, 0.2), b = child(parent, "b;", 1, 0.0, 0.5), c = child(parent, "c;", 5, 3.0, 0.3);
        // c_puct = 1: A 0.5 + 0.2·3.16228/5 = 0.62649; B 0 + 0.5·3.16228/2 = 0.79057; C 0.6 + 0.3·3.16228/6 = 0.75811 → B (explore)
        assertSame(b, Mcts.puct(parent, 1.0));
        // c_puct = 0.5: A 0.5 + 0.06325 = 0.56325; B 0.39528; C 0.6 + 0.07906 = 0.67906 → C
        assertSame(c, Mcts.puct(parent, 0.5));
        // c_puct = 0: the highest Q, C (0.6)
        assertSame(c, Mcts.puct(parent, 0.0));
        // B's Q at 0.4 (N 1): 0.4 + 0.79057 = 1.19057 still wins at c_puct 1; A's prior alone is no reason to go there
        b.total = 0.4;
        assertSame(b, Mcts.puct(parent, 1.0));
        assertNotSame(a, Mcts.puct(parent, 1.0));
        // select walks down: B has no children, so it is the leaf
        assertSame(b, Mcts.select(parent, 1.0));
    }

    @Test
    void backupCountsAValueAtTheNodeAndEveryAncestorAndQIsTheMean() {
        Mcts.Node root = Mcts.Node.root();
        Mcts.Node a = root.add("42;", false, false, 3, 0.5), c = root.add("32;", false, false, 3, 0.5);
        Mcts.Node b = a.add("33;", false, true, 6, 1.0);
        Mcts.backup(a, 0.5);    // a's own rollout
        Mcts.backup(c, 0.0);
        Mcts.backup(b, 1.0);
        // root: N = 3, total 0.5 + 0 + 1 = 1.5, Q = 0.5; a: N = 2, total 1.5, Q = 0.75; c: Q 0; b: Q 1
        assertEquals(3, root.visits);
        assertEquals(0.5, root.q(), 1e-12);
        assertEquals(2, a.visits);
        assertEquals(0.75, a.q(), 1e-12);
        assertEquals(0.0, c.q(), 1e-12);
        assertEquals(1.0, b.q(), 1e-12);
        // a terminal leaf selected again counts its value again: b N 2 (Q 1); a N 3, total 2.5, Q 0.83333; root N 4, total 2.5, Q 0.625
        Mcts.backup(b, 1.0);
        assertEquals(2, b.visits);
        assertEquals(2.5 / 3, a.q(), 1e-12);
        assertEquals(0.625, root.q(), 1e-12);
        assertEquals("42;33;", b.prefix());
    }

    @Test
    void pairsAreEachExpandedNodesBestAndWorstChildAboveTheGap() {
        String prompt = "17+25-9+40=";
        Mcts.Node root = Mcts.Node.root();
        Mcts.Node s42 = child(root, "42;", 4, 3.0, 0.4), s32 = child(root, "32;", 2, 0.0, 0.3);
        child(root, "41;", 2, 1.0, 0.3);
        root.visits = 8;
        root.total = 4.0;                                           // V(root) = 0.5
        // under 42;: Q 1.0 vs 0.9, a gap of 0.1 ≤ 0.3: no pair
        Mcts.Node s33 = child(s42, "33;", 2, 2.0, 0.5);
        child(s42, "43;", 1, 0.9, 0.5);
        // under 42;33;: final steps 73 (Q 1) and 72 (Q 0), both ended by EOS
        Mcts.Node f73 = s33.add("73", true, true, 8, 0.6), f72 = s33.add("72", true, true, 8, 0.4);
        f73.visits = 1; f73.total = 1;
        f72.visits = 1; f72.total = 0;
        List<StepPair> pairs = Mcts.pairs(root, prompt, 0.3);
        assertEquals(2, pairs.size(), pairs.toString());
        // at the root: best 42; (Q 0.75) ≻ worst 32; (Q 0), gap 0.75; A = Q − V(root) = 0.25 and −0.5
        StepPair p = pairs.get(0);
        assertEquals(prompt, p.prompt());
        assertEquals("42;", p.chosen());
        assertEquals("32;", p.rejected());
        assertFalse(p.chosenFinal() || p.rejectedFinal(), "intermediate steps: no EOS");
        assertEquals(0.75, p.chosenQ(), 1e-12);
        assertEquals(0.25, p.chosenAdvantage(), 1e-12);
        assertEquals(-0.5, p.rejectedAdvantage(), 1e-12);
        // depth 2: the prefix joins the prompt
        StepPair q = pairs.get(1);
        assertEquals("17+25-9+40=42;33;", q.prompt());
        assertEquals("73", q.chosen());
        assertEquals("72", q.rejected());
        assertTrue(q.chosenFinal() && q.rejectedFinal());
        // a higher bar drops the 0.75 gap too, keeping only the 1.0 one
        assertEquals(1, Mcts.pairs(root, prompt, 0.8).size());
        assertSame(s32, root.children.get(1));
    }

    @Test
    void intermediateStepsAreTokenizedWithoutEosAndFinalOnesWithIt() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        var b = Dpo.Config.DEFAULTS.batching();
        StepPair p = new StepPair("17+25-9+40=42;", "33;", "73", false, true, 1, 0, 0.5);
        Tokenized[] t = Dpo.tokenize(tok, b, p);
        assertArrayEquals(tok.encode("33;", false), t[0].completion(), "the step and its separator, nothing after");
        assertFalse(tok.isEos(t[0].completion()[t[0].completion().length - 1]));
        int[] fin = t[1].completion();
        assertEquals(tok.encode("73", false).length + 1, fin.length);
        assertTrue(tok.isEos(fin[fin.length - 1]), "a final step keeps EOS");
        assertArrayEquals(tok.encode("17+25-9+40=42;", true), t[0].prompt(), "the prefix is the prompt");
        // a whole-completion pair (the regular DPO path) always gets EOS
        assertTrue(tok.isEos(b.tokenize(tok, p.prompt(), "33;").completion()[3]));
    }

    @Test
    void expansionMergesIdenticalStepsAndNormalisesTheLengthPenalisedPrior() {
        Mcts.Config cfg = Configs.with(Mcts.Config.DEFAULTS, "priorLengthPenalty", 1.0, "maxStepTokens", 4, "maxDepth", 3, "maxNewTokens", 24);
        Mcts.Node root = Mcts.Node.root();
        List<Completion> steps = List.of(
                new Completion(new int[]{52, 50, 59}, "42", new float[]{-0.5f, -0.5f, -0.5f}, "stop"),   // 42; : Σ log π = −1.5 over 3 tokens
                new Completion(new int[]{52, 50, 59}, "42", new float[]{-0.5f, -0.5f, -0.5f}, "stop"),   // the same step again: merged
                new Completion(new int[]{55, 51, 2}, "73", new float[]{-1f, -1f, -1f}, "eos"),           // 73 EOS: −3 over 3
                new Completion(new int[]{49, 50, 51, 52}, "1234", new float[]{-1f, -1f, -1f, -1f}, "length"));
        List<Mcts.Node> kids = Mcts.expand(root, steps, ";", cfg);
        assertEquals(3, kids.size());
        // λ = 1: exp(−1.5/3) = 0.606531, exp(−3/3) = 0.367879, exp(−4/4) = 0.367879; sum 1.342289
        assertEquals(0.606531 / 1.342289, kids.get(0).prior, 1e-5);
        assertEquals(0.367879 / 1.342289, kids.get(1).prior, 1e-5);
        assertEquals("42;", kids.get(0).step);
        assertFalse(kids.get(0).terminal || kids.get(0).eos);
        assertTrue(kids.get(1).terminal && kids.get(1).eos);
        assertTrue(kids.get(2).terminal && !kids.get(2).eos, "cut at max-step-tokens: terminal, trained as written without EOS");
        assertEquals(3, kids.get(0).tokens);
        // at max-depth 3 a third step is terminal even when the separator ended it
        Mcts.Node deep = kids.get(0).add("33;", false, false, 6, 1).add("40;", false, false, 9, 1);
        assertTrue(Mcts.expand(deep, steps.subList(0, 1), ";", cfg).get(0).terminal);
    }

    // --------------------------------------------------------------------------------------------- nano end to end

    /** Write a's: steps of two letters separated by ;, the reward the share of a's among the letters of the first line. */
    static final class ASteps implements Task {
        public String name() { return "a-steps"; }
        public String description() { return "a-steps"; }
        public Example sample(Random rng) { return new Example("go " + (char) ('c' + rng.nextInt(20)) + (char) ('c' + rng.nextInt(20)) + ":", "aa;aa;aa"); }
        public double reward(Example ex, String c) {
            String letters = Task.firstLine(c).replace(";", "");
            return letters.isEmpty() ? 0 : letters.chars().filter(x -> x == 'a').count() / (double) letters.length();
        }
        public String demonstrate(Example ex, double errorRate, Random rng) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 3; i++) sb.append(i > 0 ? ";" : "").append(rng.nextBoolean() ? 'a' : 'b').append(rng.nextBoolean() ? 'a' : 'b');
            return sb.toString();
        }
        public int maxCompletionChars() { return 8; }
    }

    /** A nano model that writes two-letter steps of a's and b's at random: the search has steps to rank. */
    static LlamaModel warmed(Tokenizer tok, ASteps task) {
        LlamaModel m = RftTest.nano(5);
        Random rng = new Random(0);
        List<SftExample> demos = new ArrayList<>();
        for (Task.Example e : task.examples(Task.Split.TRAIN, 256, 0)) demos.add(new SftExample(e.prompt(), task.demonstrate(e, 0, rng)));
        Sft.train(m, demos, Configs.with(Sft.Config.DEFAULTS, "steps", 30, "lr", 1e-2, "warmupSteps", 0, "batchSize", 32, "maxLength", 32), Session.inMemory(tok));
        return m;
    }

    @Test
    void oneRoundSearchesStepPairsAndTrainsOnThemWithStepDpoAndStepApoAndTheBaselineSpendsTheBudget() {
        Tokenizer tok = Tokenizer.writeBuiltin(dir.resolve("tok"));
        ASteps task = new ASteps();
        List<Task.Example> prompts = task.examples(Task.Split.TRAIN, 64, 1);
        Rewards.Weighted reward = Rewards.Weighted.of(Rewards.gold(task));
        try (LlamaModel m = warmed(tok, task)) {
            Mcts.Config cfg = Configs.with(Mcts.Config.DEFAULTS, "rounds", 1, "promptsPerRound", 16, "simulations", 4, "children", 3,
                    "maxStepTokens", 4, "maxNewTokens", 12, "minGap", 0.2, "rollouts", 1, "rpoAlpha", 0.0, "steps", 12, "lr", 5e-3, "warmupSteps", 0, "batchSize", 8, "maxLength", 32);
            // the search alone: every node counted, values are means of rewards in [0, 1], tokens counted
            Mcts.Search s = Mcts.search(m, tok, prompts.subList(0, 16), reward, null, cfg, 3);
            assertTrue(s.sampledTokens() > 16 * 3, "steps and rollouts sampled: " + s.sampledTokens());
            for (Mcts.Node root : s.roots()) {
                assertTrue(root.visits >= 3 && root.children != null, "the root was expanded");
                checkCounts(root);
            }
            assertFalse(s.pairs().isEmpty(), "the trees have sibling steps of different value");
            assertTrue(s.pairs().stream().anyMatch(p -> !p.chosenFinal() && p.chosen().endsWith(";")), "some pairs rank intermediate steps: " + s.pairs());
            for (StepPair p : s.pairs()) assertTrue(p.chosenQ() - p.rejectedQ() > 0.2 && p.prompt().startsWith("go "), p.toString());
            Map<String, Double> sm = s.metrics();
            assertEquals(s.pairs().size(), sm.get("pairs"));
            assertTrue(sm.get("mean_q_gap") > 0.2 && sm.get("tree_nodes") > 3, sm.toString());

            // the outcome baseline on the same policy: whole completions until the budget is spent
            Mcts.Config oc = Configs.with(cfg, "mode", Mcts.Mode.OUTCOME, "tokenBudget", List.of(600L));
            Mcts.Outcome o = Mcts.outcome(m, tok, prompts.subList(0, 16), reward, oc, 600, 4);
            // one pass of 16 completions costs about 16 × 9 = 144 tokens: the budget is met, overshot by less than a pass
            assertTrue(o.sampledTokens() >= 600 && o.sampledTokens() < 600 + 16 * 12, "spent " + o.sampledTokens());
            assertTrue(o.samples() >= 4 * 16, "about four passes: " + o.samples());
            assertFalse(o.pairs().isEmpty());
            for (StepPair p : o.pairs()) {
                assertTrue(p.chosenQ() > p.rejectedQ(), p.toString());
                assertTrue(prompts.stream().anyMatch(e -> e.prompt().equals(p.prompt())), "outcome pairs are whole completions of a prompt");
            }
            assertThrows(dev.align4j.core.UserError.class, () -> Configs.with(Mcts.Config.DEFAULTS, "mode", Mcts.Mode.OUTCOME), "outcome mode needs a budget");

            // one round end to end: pairs → step-level DPO; every parameter moves and DPO separates the pairs
            Map<String, float[]> before = RftTest.snapshot(m);
            Metrics metrics = Metrics.inMemory().quiet(true);
            Mcts.Result r = Mcts.train(m, reward, prompts, null, cfg, new Session(tok, null, metrics, null, null));
            Map<String, Double> round = r.rounds().get(0);
            assertTrue(round.get("pairs") > 0, round.toString());
            assertTrue(Double.isFinite(round.get("dpo_loss")), round.toString());
            assertTrue(round.get("dpo_loss") < Math.log(2), "the DPO loss fell below its starting log 2: " + round);
            assertTrue(round.get("dpo_accuracy") > 0.5, round.toString());
            for (var e : before.entrySet())
                assertFalse(Arrays.equals(e.getValue(), Torch.toFloats(m.parameters().get(e.getKey()))), e.getKey() + " did not change");
            assertEquals(1, metrics.series("mcts", "sampled_tokens").length);

            // Step-APO on the same kind of round: trains through the advantage gaps
            Mcts.Config apo = Configs.with(cfg, "losses", List.of(PreferenceLoss.Variant.STEP_APO), "apoAlpha", 0.5);
            Map<String, Double> ra = Mcts.train(m, reward, prompts, null, apo, Session.inMemory(tok)).rounds().get(0);
            assertTrue(Double.isFinite(ra.get("dpo_loss")) && ra.get("pairs") > 0, ra.toString());
        }
    }

    /** Each node's count is its own evaluation plus its children's counts (the root has none of its own), and Q ∈ [0, 1]. */
    private static void checkCounts(Mcts.Node n) {
        assertTrue(n.q() >= 0 && n.q() <= 1, "Q " + n.q());
        if (n.children == null) return;
        int below = 0;
        for (Mcts.Node c : n.children) { below += c.visits; checkCounts(c); }
        assertEquals(below + (n.parent == null ? 0 : 1), n.visits, "N(" + n.prefix() + ") = its own evaluation + its children's");
    }

    private static Mcts.Node child(Mcts.Node parent, String step, int visits, double total, double prior) {
        Mcts.Node c = parent.add(step, false, false, step.length(), prior);
        c.visits = visits;
        c.total = total;
        return c;
    }
}
