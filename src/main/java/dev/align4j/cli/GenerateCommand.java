package dev.align4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.Progress;
import dev.align4j.core.UserError;
import dev.align4j.eval.Revisions;
import dev.align4j.generate.Completion;
import dev.align4j.generate.Revision;
import dev.align4j.generate.GuidedDecoding;
import dev.align4j.generate.SamplingConfig;
import dev.align4j.generate.Sampler;
import dev.align4j.model.HfModel;
import dev.align4j.model.Tokenizer;
import dev.align4j.reward.PrefixScorer;
import dev.align4j.reward.ProcessRewards;
import dev.align4j.reward.ValueScorer;
import dev.align4j.task.ChainTask;
import dev.align4j.task.Task;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "generate", description = {"Complete a prompt (only the completion goes to stdout), or with --task decode a task's held-out prompts and print the accuracy.",
        "Decoding: plain sampling (--temperature 0 = greedy); --guide value:DIR alone is Value Augmented Sampling (the policy's",
        "--guide-top-k next tokens reweighted by exp(--guide-beta x V)); --beam W --beam-by likelihood is beam search on log-likelihood;",
        "--beam W --beam-by value keeps the W best partial solutions by the guide, each expanded by --expand sampled steps ending at",
        "--step-separator; --best-of N samples N and keeps the one the guide (else the likelihood) ranks first.",
        "Example: ./align4j generate --model out/quickstart/sft --prompt '37+85=' --temperature 0",
        "Example: ./align4j generate --model out/sft/final --task chain --prompts 300 --guide value:out/value/final --guide-beta 2 --temperature 0",
        "Example: ./align4j generate --model out/sft/final --task chain --prompts 300 --guide value:out/value/final --beam 4 --beam-by value --expand 4",
        "--revise K answers each prompt, then K times more after 'Check and correct:' (or a --critic model's critique) and prints the",
        "accuracy at every attempt with delta/i_to_c (wrong -> right) and delta/c_to_i (right -> wrong) between the first and the last.",
        "Example: ./align4j generate --model out/score/final --task arithmetic --split test --revise 1 --temperature 0"})
final class GenerateCommand implements Callable<Integer> {
    @Mixin Common.ModelOptions m = new Common.ModelOptions();

    @Option(names = "--prompt", description = "Prompt text (BOS is added as the tokenizer config says).")
    String prompt;
    @Option(names = "--task", description = "Decode the held-out prompts of a built-in task instead (arithmetic, sort, phrase, brief-arith, chain) and print accuracy.")
    String task;
    @Option(names = "--split", defaultValue = "test", description = "The task's split: test (held out) or train (default: ${DEFAULT-VALUE}).")
    String split;
    @Option(names = "--prompts", defaultValue = "300", description = "Prompts drawn from --task (default: ${DEFAULT-VALUE}).")
    int prompts;

    @Option(names = "--max-new-tokens", defaultValue = "0", description = "Most tokens to generate; 0 = 64, or the task's budget with --task (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy; also the temperature of VAS and of beam expansions (default: ${DEFAULT-VALUE}).")
    double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass; 1 = off (default: ${DEFAULT-VALUE}).")
    double topP;
    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed, and the task's prompts (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--stop", description = "Stop string (repeatable; plain sampling only).")
    List<String> stop;
    @Option(names = "--json", description = "Print one JSON object (text, tokens, logprobs, finish_reason; with --task the summary).")
    boolean json;

    @Option(names = "--guide", paramLabel = "value:DIR|prm:DIR", description = "A prefix scorer that guides decoding: a value model (./align4j value-model, or a PPO checkpoint's critic/).")
    String guide;
    @Option(names = "--guide-beta", defaultValue = "1.0", description = "VAS's beta: pi ∝ pi_base x exp(beta x V); 0 = the policy (default: ${DEFAULT-VALUE}).")
    double guideBeta;
    @Option(names = "--guide-top-k", defaultValue = "8", description = "VAS: next tokens of the policy whose extended prefixes the guide scores (default: ${DEFAULT-VALUE}).")
    int guideTopK;
    @Option(names = "--beam", defaultValue = "0", description = "Beam width W; 0 = no beam search (default: ${DEFAULT-VALUE}).")
    int beam;
    @Option(names = "--beam-by", defaultValue = "likelihood", description = "likelihood (token-level, sum of log-probs) or value (step-level, by --guide) (default: ${DEFAULT-VALUE}).")
    String beamBy;
    @Option(names = "--step-separator", description = "Where a step ends in --beam-by value (besides EOS); default ';' with --task chain, else a newline.")
    String stepSeparator;
    @Option(names = "--expand", defaultValue = "4", description = "Steps sampled from each partial solution per round of --beam-by value, M (default: ${DEFAULT-VALUE}).")
    int expand;
    @Option(names = "--best-of", defaultValue = "0", description = "Sample N and keep the one --guide ranks first (without a guide: the most likely); 0 = off (default: ${DEFAULT-VALUE}).")
    int bestOf;

    @Option(names = "--revise", defaultValue = "0", description = "Revision rounds K after the first attempt (self-correction, needs --task); 0 = off (default: ${DEFAULT-VALUE}).")
    int revise;
    @Option(names = "--critic", paramLabel = "DIR|gold", description = {"With --revise: a model that writes a one-line critique of each attempt ('Critique:'), shown before the revision instead of the fixed instruction;",
            "'gold' writes the task's gold critique (an oracle critic: the ceiling of a critic for this generator)."})
    Path critic;

    @Override
    public Integer call() {
        if ((prompt == null) == (task == null)) throw new UserError("give exactly one of --prompt TEXT or --task NAME");
        if (revise < 0) throw new UserError("--revise must be >= 0: " + revise);
        if (critic != null && revise == 0) throw new UserError("--critic writes the feedback of a revision round: give --revise K too");
        if (revise > 0) return revise();
        Task t = task == null ? null : Task.byName(task);
        int budget = maxNewTokens > 0 ? maxNewTokens : t != null ? Math.max(4, t.maxCompletionChars() + 4) : 64;
        new SamplingConfig(budget, temperature, topK, topP, seed, stop);                      // bad sampling flags fail before the model loads
        UserError.check(guideTopK >= 1 && expand >= 1 && beam >= 0 && bestOf >= 0, "--guide-top-k and --expand must be >= 1, --beam and --best-of >= 0");
        if (beam > 0 && bestOf > 0) throw new UserError("--beam and --best-of are two searches: give one");
        if (!beamBy.equals("likelihood") && !beamBy.equals("value")) throw new UserError("--beam-by " + beamBy + ": expected likelihood or value");
        if (beam > 0 && beamBy.equals("value") && guide == null) throw new UserError("--beam-by value ranks partial solutions by --guide value:DIR (or prm:DIR)");
        if (beam > 0 && beamBy.equals("likelihood") && guide != null) throw new UserError("--beam-by likelihood does not use --guide; use --beam-by value to search by it");
        if (stop != null && (guide != null || beam > 0 || bestOf > 0)) throw new UserError("--stop applies to plain sampling only");
        String sep = stepSeparator != null ? stepSeparator : t instanceof ChainTask ? ChainTask.SEPARATOR : "\n";
        try (HfModel.Loaded l = m.load(); PrefixScorer g = guide == null ? null : guide(guide, m.scalarType())) {
            GuidedDecoding.Scorer scorer = g == null ? null : tokens(g, l);
            Decoder d = new Decoder(l, scorer, budget, sep);
            if (t == null) {
                Completion c = d.decode(List.of(l.tokenizer().encode(prompt, true)), seed).completions().get(0);
                print(c);
                return 0;
            }
            Task.Split s = split();
            List<Task.Example> ex = t.examples(s, prompts, seed);
            double correct = 0, reward = 0, length = 0, forwards = 0, scored = 0;
            Progress p = new Progress("generate", ex.size());
            for (int from = 0; from < ex.size(); from += 50) {
                List<Task.Example> chunk = ex.subList(from, Math.min(ex.size(), from + 50));
                List<int[]> ids = new ArrayList<>();
                for (Task.Example e : chunk) ids.add(l.tokenizer().encode(e.prompt(), true));
                GuidedDecoding.Result r = d.decode(ids, seed * 1_000_003L + from);
                for (int i = 0; i < chunk.size(); i++) {
                    String text = r.completions().get(i).text();
                    correct += t.correct(chunk.get(i), text) ? 1 : 0;
                    reward += t.reward(chunk.get(i), text);
                    length += r.completions().get(i).tokens().length;
                }
                forwards += r.policyForwards();
                scored += r.scorerRows();
                p.update(from + chunk.size());
            }
            int n = Math.max(1, ex.size());
            ObjectNode o = Json.object();
            o.put("task", t.name()).put("split", split).put("prompts", ex.size()).put("decoding", d.describe());
            o.put("accuracy", correct / n).put("gold_reward", reward / n).put("completion_length", length / n);
            o.put("policy_forwards_per_prompt", forwards / n).put("scorer_rows_per_prompt", scored / n);
            if (json) System.out.println(Json.compact(o));
            else System.out.printf("%s %s, %d prompts, %s: accuracy %.1f%%, gold reward %.3f, %.1f tokens; per prompt %.1f policy forwards, %.1f scorer rows%n",
                    t.name(), split, ex.size(), d.describe(), 100 * correct / n, reward / n, length / n, forwards / n, scored / n);
        }
        return 0;
    }

    static final String GOLD_CRITIC = "gold";

    /** {@code --revise K}: attempt 1 and K revisions of the task's prompts, by plain sampling; the self-correction summary. */
    private int revise() {
        if (task == null) throw new UserError("--revise needs --task NAME: attempts are judged by the task's gold check");
        if (guide != null || beam > 0 || bestOf > 0 || stop != null) throw new UserError("--revise decodes by plain sampling: drop --guide, --beam, --best-of and --stop");
        Task t = Task.byName(task);
        Task.Split s = split();
        int budget = maxNewTokens > 0 ? maxNewTokens : Math.max(4, t.maxCompletionChars() + 4);
        SamplingConfig sc = new SamplingConfig(budget, temperature, topK, topP, seed, List.of());
        boolean gold = critic != null && critic.toString().equals(GOLD_CRITIC);
        if (critic != null && !gold && !java.nio.file.Files.isDirectory(critic)) throw new UserError("--critic " + critic + ": not a model directory (or 'gold')");
        try (HfModel.Loaded l = m.load(); HfModel.Loaded c = critic == null || gold ? null : HfModel.load(critic, m.scalarType())) {
            Revision format = Revision.text();
            List<Task.Example> ex = t.examples(s, prompts, seed);
            Revisions.Critic writer = gold ? Revisions.goldCritic(t, ex) : c == null ? null : Revisions.modelCritic(c.model(), c.tokenizer(), format, sc);
            Revisions.Result r = Revisions.evaluate(l.model(), l.tokenizer(), format, writer, t, ex, revise, sc, 100);
            java.util.Map<String, Double> mt = r.metrics();
            if (json) {
                ObjectNode o = Json.object();
                o.put("task", t.name()).put("split", split).put("prompts", ex.size()).put("revisions", revise).put("critic", critic == null ? null : critic.toString());
                mt.forEach(o::put);
                System.out.println(Json.compact(o));
            } else {
                StringBuilder b = new StringBuilder(String.format("%s %s, %d prompts, %s, %d revision%s%s:", t.name(), split, ex.size(),
                        temperature == 0 ? "greedy" : "temperature " + temperature, revise, revise == 1 ? "" : "s", critic == null ? "" : " with critic " + critic));
                for (int k = 1; k <= revise + 1; k++) b.append(String.format(" accuracy/t%d %.1f%%", k, 100 * r.accuracy(k)));
                b.append(String.format(", delta/t1_t%d %+.1f%%, delta/i_to_c %.1f%%, delta/c_to_i %.1f%%", revise + 1,
                        100 * (r.accuracy(revise + 1) - r.accuracy(1)), 100 * r.incorrectToCorrect(), 100 * r.correctToIncorrect()));
                System.out.println(b);
            }
        }
        return 0;
    }

    private Task.Split split() {
        return switch (split) {
            case "test" -> Task.Split.TEST;
            case "train" -> Task.Split.TRAIN;
            default -> throw new UserError("--split " + split + ": expected test or train");
        };
    }

    /** The decoding the flags ask for, on a batch of prompts. */
    private final class Decoder {
        final HfModel.Loaded l;
        final GuidedDecoding.Scorer scorer;
        final int budget;
        final String sep;

        Decoder(HfModel.Loaded l, GuidedDecoding.Scorer scorer, int budget, String sep) {
            this.l = l;
            this.scorer = scorer;
            this.budget = budget;
            this.sep = sep;
        }

        GuidedDecoding.Result decode(List<int[]> ids, long s) {
            Tokenizer tok = l.tokenizer();
            SamplingConfig sc = new SamplingConfig(budget, temperature, topK, topP, s, stop);
            if (bestOf > 0) return GuidedDecoding.bestOfN(l.model(), tok, ids, scorer, bestOf, sc);
            if (beam > 0 && beamBy.equals("likelihood")) return GuidedDecoding.likelihoodBeam(GuidedDecoding.of(l.model(), tok.padId), tok, ids, beam, budget);
            if (beam > 0) return GuidedDecoding.stepBeam(l.model(), tok, ids, scorer, beam, expand, sep, temperature, budget, s);
            if (scorer != null) return GuidedDecoding.vas(GuidedDecoding.of(l.model(), tok.padId), tok, ids, scorer, guideTopK, guideBeta, temperature, budget, s);
            List<Completion> out = Sampler.generate(l.model(), tok, ids, sc);
            return new GuidedDecoding.Result(out, out.stream().mapToLong(c -> c.tokens().length).sum(), 0);
        }

        String describe() {
            String at = temperature == 0 ? "greedy" : "temperature " + temperature;
            if (bestOf > 0) return "best-of-" + bestOf + " by " + (scorer != null ? "the guide" : "likelihood") + " (" + at + ")";
            if (beam > 0 && beamBy.equals("likelihood")) return "likelihood beam " + beam;
            if (beam > 0) return "value step beam " + beam + " x expand " + expand + " (" + at + ")";
            if (scorer != null) return "VAS beta " + guideBeta + " top-" + guideTopK + " (" + at + ")";
            return at;
        }
    }

    private void print(Completion c) {
        if (json) {
            var o = Json.object();
            o.put("text", c.text());
            var t = o.putArray("tokens");
            for (int x : c.tokens()) t.add(x);
            var lp = o.putArray("logprobs");
            for (float x : c.logprobs()) lp.add(x);
            o.put("finish_reason", c.finishReason());
            System.out.println(Json.compact(o));
        } else {
            System.out.println(c.text());
        }
    }

    /**
     * The prefix scorer a {@code --guide} names: {@code value:DIR} a value model; {@code prm:DIR} a process reward model,
     * a partial solution scored by its weakest step so far (Math-Shepherd's min aggregate).
     * The one place guides are built: a new kind is one more case here.
     */
    static PrefixScorer guide(String spec, ScalarType dtype) {
        String[] kv = spec.split(":", 2);
        if (kv.length < 2 || kv[1].isBlank()) throw new UserError("--guide " + spec + ": expected value:DIR or prm:DIR");
        Path dir = Path.of(kv[1]);
        return switch (kv[0]) {
            case "value" -> ValueScorer.load(dir, dtype);
            case "prm" -> ProcessRewards.load(dir, dtype).prefixScorer(ProcessRewards.Aggregate.MIN);   // the weakest step so far
            default -> throw new UserError("--guide " + spec + ": unknown guide '" + kv[0] + "'; expected value:DIR or prm:DIR");
        };
    }

    /** A prefix scorer over token ids: a value model reads the policy's tokens as they are (EOS included); another scorer gets the decoded text. */
    static GuidedDecoding.Scorer tokens(PrefixScorer s, HfModel.Loaded policy) {
        if (s instanceof ValueScorer v) {
            if (v.vocabSize() != policy.model().config.vocabSize())
                throw new UserError("--guide: the value model's vocabulary (" + v.vocabSize() + ") is not the policy's (" + policy.model().config.vocabSize() + ")");
            return v::values;
        }
        Tokenizer tok = policy.tokenizer();
        return (ps, cs) -> {
            List<String> pt = new ArrayList<>(ps.size()), ct = new ArrayList<>(cs.size());
            for (int i = 0; i < ps.size(); i++) { pt.add(tok.decode(ps.get(i), true)); ct.add(tok.decode(cs.get(i), true)); }
            return s.score(pt, ct);
        };
    }
}
