package dev.align4j.cli;

import dev.align4j.core.Json;
import dev.align4j.core.Torch;
import dev.align4j.bench.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", description = {"Measure speed: GEMM GFLOP/s (fp32, bf16), forward tokens/s, SFT-step and DPO-step tokens/s in fp32 and in bf16 mixed precision",
        "with MFU against the faster GEMM, KV-cache generation tokens/s, memory over 500 training steps,",
        "and the peak memory of DPO with LoRA adapters against full DPO (--lora-memory SIZE).",
        "Prints a table on stderr and writes a JSON file.",
        "Example: ./align4j bench --sizes small --output out/bench.json",
        "Example: ./align4j bench --sizes none --memory-steps 0 --lora-memory medium --output out/bench-lora.json"})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--sizes", split = ",", defaultValue = "tiny,small,medium", description = "Built-in model sizes: nano, tiny, small, medium; none = only the memory measurements (default: ${DEFAULT-VALUE}).")
    List<String> sizes;
    @Option(names = "--seq-len", defaultValue = "128", description = "Tokens per training / forward sequence (default: ${DEFAULT-VALUE}).")
    int seqLen;
    @Option(names = "--train-batch", defaultValue = "8", description = "Sequences per forward / training step (default: ${DEFAULT-VALUE}).")
    int trainBatch;
    @Option(names = "--gen-batches", split = ",", defaultValue = "1,8,32,64", description = "Generation batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> genBatches;
    @Option(names = "--gen-tokens", defaultValue = "64", description = "New tokens per generated row (default: ${DEFAULT-VALUE}).")
    int genTokens;
    @Option(names = "--repeats", defaultValue = "5", description = "Timed repeats per measurement; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;
    @Option(names = "--memory-steps", defaultValue = "500", description = "Training steps for the memory check; 0 = skip (default: ${DEFAULT-VALUE}).")
    int memorySteps;
    @Option(names = "--lora-memory", defaultValue = "medium", paramLabel = "SIZE",
            description = "Model size for the peak memory of DPO with LoRA adapters vs full DPO; none = skip (default: ${DEFAULT-VALUE}).")
    String loraMemory;
    @Option(names = "--lora-steps", defaultValue = "5", description = "DPO steps of each run of the LoRA memory measurement (default: ${DEFAULT-VALUE}).")
    int loraSteps;
    @Option(names = "--lora-arm", defaultValue = "both", description = {"Which runs of the LoRA memory measurement: both (LoRA, then full, in this process),",
            "or lora / full alone (run each in its own process for peaks without the other's leftovers) (default: ${DEFAULT-VALUE})."})
    String loraArm;
    @Option(names = "--gradient-checkpointing", description = "The LoRA memory measurement's DPO steps with gradient checkpointing (both arms).")
    boolean gradientCheckpointing;
    @Option(names = "--device-parity", paramLabel = "DEVICE", description = {"Only the device parity check: a forward, an SFT step and greedy generation of the",
            "built-in tiny model on the CPU and on DEVICE (cuda, cuda:N; cpu compares the CPU with itself), with their largest differences."})
    String deviceParity;
    @Option(names = "--quick", description = "A reduced set (tiny model, fewer repeats) that runs in under a minute.")
    boolean quick;
    @Option(names = "--output", defaultValue = "out/bench.json", description = "JSON result file (default: ${DEFAULT-VALUE}).")
    Path output;
    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads; 0 = default (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--device", defaultValue = "auto", description = "Where tensors live and compute: cpu, cuda, cuda:N, or auto (CUDA when this build and machine have it; the default build is CPU-only, mvn -Pcuda builds the CUDA one) (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() {
        Torch.init();
        if (threads > 0) Torch.setThreads(threads);
        if (deviceParity != null) {
            var r = dev.align4j.bench.DeviceParity.run(deviceParity, "tiny");
            Json.write(output, r);
            System.out.println(Json.compact(r));
            return 0;
        }
        Torch.useDevice(device);
        Bench.Options o = quick ? new Bench.Options(List.of("tiny"), 64, 4, List.of(1, 8), 32, 3, 0, null, 0, "both", false)
                : new Bench.Options(sizes, seqLen, trainBatch, genBatches, genTokens, repeats, memorySteps,
                loraMemory.equals("none") ? null : loraMemory, loraSteps, loraArm, gradientCheckpointing);
        var result = Bench.run(o);
        Json.write(output, result);
        System.out.println(Json.compact(result));
        return 0;
    }
}
