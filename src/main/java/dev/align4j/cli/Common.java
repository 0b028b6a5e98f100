package dev.align4j.cli;

import dev.align4j.core.Torch;
import dev.align4j.core.UserError;
import dev.align4j.model.HfModel;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Flags shared by commands that load a model. */
final class Common {
    private Common() {}

    /** Where the model comes from and how many threads run it; training commands add their own {@code --dtype} (TrainFlags). */
    static class ModelSource {
        @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")
        Path model;

        @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = all cores (default: ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--debug", description = "Print stack traces.")
        boolean debug;

        @Option(names = "--device", defaultValue = "auto", description = "Where tensors live and compute: cpu, cuda, cuda:N, or auto (CUDA when this build and machine have it; the default build is CPU-only, mvn -Pcuda builds the CUDA one) (default: ${DEFAULT-VALUE}).")
        String device;
    }

    /** {@link ModelSource} plus the dtype the weights are loaded and run in (commands that only run a model). */
    static class ModelOptions extends ModelSource {
        @Option(names = "--dtype", defaultValue = "float32", description = "Weights and compute dtype: float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
        String dtype;

        HfModel.Loaded load() {
            if (model == null) throw new UserError("--model DIR is required");
            Torch.init();
            if (threads > 0) Torch.setThreads(threads);
            Torch.useDevice(device);
            return HfModel.load(model, scalarType());
        }

        ScalarType scalarType() { return Torch.dtype(dtype); }
    }
}
