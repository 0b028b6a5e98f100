package dev.align4j.train.offline;

import dev.align4j.core.Torch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Map;

/** The metrics of a pairwise preference step, named as TRL names them; shared by offline and online DPO. */
public final class Pairs {
    private Pairs() {}

    /**
     * {@code rewards/chosen}, {@code rewards/rejected}: mean implicit rewards (B); {@code rewards/accuracies}: share of pairs
     * with chosen &gt; rejected; {@code rewards/margins}: mean chosen − rejected; {@code logps/chosen}, {@code logps/rejected}:
     * mean summed log-probs (B).
     */
    public static void rewardMetrics(Map<String, Double> m, Tensor chosenRewards, Tensor rejectedRewards, Tensor logpsChosen, Tensor logpsRejected) {
        m.put("rewards/chosen", Torch.item(chosenRewards.mean()));
        m.put("rewards/rejected", Torch.item(rejectedRewards.mean()));
        m.put("rewards/accuracies", Torch.item(chosenRewards.gt(rejectedRewards).to(ScalarType.Float).mean()));
        m.put("rewards/margins", Torch.item(chosenRewards.sub(rejectedRewards).mean()));
        m.put("logps/chosen", Torch.item(logpsChosen.mean()));
        m.put("logps/rejected", Torch.item(logpsRejected.mean()));
    }
}
