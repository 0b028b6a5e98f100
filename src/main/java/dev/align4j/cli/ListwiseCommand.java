package dev.align4j.cli;

import dev.align4j.core.UserError;
import dev.align4j.data.RankedList;
import dev.align4j.loss.ListwiseLoss;
import dev.align4j.model.LlamaModel;
import dev.align4j.train.offline.Listwise;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "listwise", description = {"Listwise preference optimization from ranked lists: LiPO-lambda, ListMLE or PRO.",
        "Data: JSONL with prompt, completions and scores (higher = better) or ranks (1 = best).",
        "Example: ./align4j export --task sort --format ranked --n 2000 --output ranked.jsonl &&",
        "         ./align4j listwise --model out/sft/final --data ranked.jsonl --loss lipo_lambda --output out/lipo"})
final class ListwiseCommand implements Callable<Integer>, ConfigFile.Configured {
    @Mixin TrainFlags f = new TrainFlags();
    @Mixin MethodFlags.DataFlags d = new MethodFlags.DataFlags();
    @Mixin MethodFlags.BetaFlag b = new MethodFlags.BetaFlag();

    @Option(names = "--loss", description = "lipo_lambda, list_mle or pro (default: ${DEFAULT-VALUE}).")
    String loss;
    @Option(names = "--nll-weight", description = "PRO: weight of NLL on the best completion (default: ${DEFAULT-VALUE}).")
    double nllWeight;

    @Override
    public Object defaults() { return Listwise.Config.DEFAULTS; }

    @Override
    public Integer call() {
        if (d.data == null) throw new UserError("--data FILE (ranked lists) is required");
        Listwise.Config cfg = f.config(Listwise.Config.DEFAULTS);
        List<RankedList> rows = d.rows("listwise", RankedList.read(d.data, d.skipInvalid));
        TrainRun.offline("listwise", f, cfg, "ranked lists from " + d.data, (l, metrics) -> {
            try (LlamaModel ref = l.model().reference()) {
                Listwise.train(l.model(), ref, rows, cfg, f.session(l, metrics, null));
            }
            return l.model();
        });
        return 0;
    }
}
