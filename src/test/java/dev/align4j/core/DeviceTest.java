package dev.align4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.bench.DeviceParity;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** --device: parsing, the CPU-only build's answer to cuda, and the parity check's plumbing (the CPU against itself). */
class DeviceTest {
    @AfterEach
    void backToCpu() { Torch.useDevice("cpu"); }

    @Test
    void cpuAndAutoWithoutCudaStayOnTheCpu() {
        Torch.useDevice("cpu");
        assertFalse(Torch.onCuda());
        assertEquals("cpu", Torch.deviceName());
        assumeFalse(torch.cuda_is_available(), "a CUDA build on a GPU machine: auto picks the GPU there");
        Torch.useDevice("auto");
        assertFalse(Torch.onCuda());
        Torch.useDevice(null);                                                 // no flag: auto
        assertFalse(Torch.onCuda());
    }

    @Test
    void aBadDeviceIsAUserErrorNamingTheChoices() {
        UserError e = assertThrows(UserError.class, () -> Torch.useDevice("tpu"));
        assertTrue(e.getMessage().contains("expected cpu, cuda, cuda:N or auto") && e.getMessage().contains("'tpu'"), e.getMessage());
        assertThrows(UserError.class, () -> Torch.useDevice("cuda:x"));
    }

    @Test
    void cudaOnTheCpuBuildSaysHowToGetIt() {
        assumeFalse(torch.cuda_is_available());
        UserError e = assertThrows(UserError.class, () -> Torch.useDevice("cuda"));
        assertTrue(e.getMessage().contains("no CUDA device") && e.getMessage().contains("mvn -Pcuda"), e.getMessage());
        assertFalse(Torch.onCuda(), "a refused device leaves the CPU in place");
    }

    @Test
    void theParityCheckOfTheCpuAgainstItselfFindsNoDifference() {
        ObjectNode r = DeviceParity.run("cpu", "nano");
        assertEquals("cpu", r.get("device").asText());
        assertEquals(0.0, r.get("logits_max_abs_diff").asDouble());
        assertTrue(r.get("logits_max_abs").asDouble() > 0);
        assertEquals(r.get("loss_cpu").asDouble(), r.get("loss_device").asDouble());
        assertEquals(0.0, r.get("weights_after_step_max_abs_diff").asDouble());
        assertEquals(1.0, r.get("greedy_tokens_agree").asDouble());
        assertEquals("8/8", r.get("greedy_rows_identical").asText());
    }
}
