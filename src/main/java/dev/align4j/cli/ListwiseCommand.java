package dev.align4j.cli;

import dev.align4j.core.Metrics;
import dev.align4j.core.UserError;
import dev.align4j.data.Jsonl;
import dev.align4j.data.RankedList;
import dev.align4j.loss.ListwiseLoss;
import dev.align4j.model.HfModel;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.ListwiseConfig;
import dev.align4j.train.ListwiseTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "listwise", description = {"Listwise preference optimization from ranked lists: LiPO-lambda, ListMLE or PRO.",
        "Data: JSONL with prompt, completions and scores (higher = better) or ranks (1 = best).",
        "Example: ./align4j export --task sort --format ranked --n 2000 --output ranked.jsonl &&",
        "         ./align4j listwise --model out/sft/final --data ranked.jsonl --loss lipo_lambda --output out/lipo"})
final class ListwiseCommand implements Callable<Integer> {
    @Mixin TrainFlags f = new TrainFlags();

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Ranked-list JSONL.")
    Path data;
    @Option(names = "--loss", defaultValue = "lipo_lambda", description = "lipo_lambda, list_mle or pro (default: ${DEFAULT-VALUE}).")
    String loss;
    @Option(names = "--beta", defaultValue = "0.1", description = "Implicit-reward temperature (default: ${DEFAULT-VALUE}).")
    double beta;
    @Option(names = "--nll-weight", defaultValue = "1.0", description = "PRO: weight of NLL on the best completion (default: ${DEFAULT-VALUE}).")
    double nllWeight;

    @Override
    public Integer call() {
        ListwiseConfig cfg = new ListwiseConfig(ListwiseLoss.Variant.parse(loss), beta, nllWeight, SftCommand.or(f.steps, 300),
                SftCommand.or(f.batchSize, 8), SftCommand.or(f.lr, 5e-5), SftCommand.or(f.weightDecay, 0.0), SftCommand.or(f.warmupSteps, 20),
                f.maxGradNorm, f.maxLength, f.evalEvery, f.saveEvery, f.keep, f.seed, f.onNonFinite);
        Jsonl.Read<RankedList> read = RankedList.read(data, f.skipInvalid);
        if (read.skipped() > 0) System.err.println("listwise: skipped " + read.skipped() + " invalid lines of " + data + " (first: " + read.problems().get(0) + ")");
        if (f.model == null && f.init == null) throw new UserError("give --model DIR or --init SIZE");
        try (HfModel.Loaded l = f.loadModel(); Metrics metrics = new Metrics(f.output); LlamaModel ref = l.model().copy(l.model().dtype)) {
            TrainFlags.printConfig("listwise", cfg, f.output);
            ListwiseTrainer.train(l.model(), ref, l.tokenizer(), read.rows(), cfg, f.output, metrics, null, f.resume);
            HfModel.save(f.output.resolve("final"), l.model(), l.tokenizer());
            System.err.println("listwise: final model in " + f.output.resolve("final"));
        }
        return 0;
    }
}
