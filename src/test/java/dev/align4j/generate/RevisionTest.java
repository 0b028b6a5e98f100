package dev.align4j.generate;

import dev.align4j.core.UserError;
import dev.align4j.model.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The two-attempt prompt, raw text and chat, with the fixed instruction and with a critique. */
class RevisionTest {
    @Test
    void textFormatRepeatsThePromptAfterTheInstruction() {
        Revision r = Revision.text();
        assertEquals("17+25=32\nCheck and correct:\n17+25=", r.second("17+25=", "32"));
        // the attempt is stripped of the whitespace around it; a third attempt follows both earlier ones
        assertEquals("17+25=32\nCheck and correct:\n17+25=41\nCheck and correct:\n17+25=", r.next("17+25=", List.of(" 32\n", "41"), List.of()));
        // a critique replaces the instruction of its round; a null entry keeps the instruction
        assertEquals("17+25=32\nCritique: the tens digit is wrong\n17+25=", r.next("17+25=", List.of("32"), List.of(Revision.critiqueFeedback(" the tens digit is wrong "))));
        assertEquals("17+25=32\nCheck and correct:\n17+25=", r.next("17+25=", List.of("32"), Arrays.asList((String) null)));
        assertEquals("17+25=32\nCritique:", r.criticPrompt("17+25=", "32"));
        assertThrows(IllegalArgumentException.class, () -> r.next("17+25=", List.of(), List.of()));
        assertThrows(UserError.class, () -> new Revision(" ", null));
    }

    @Test
    void chatFormatRendersTheConversationWithTheGenerationPrompt() {
        String chatml = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        Revision r = Revision.chat(new ChatTemplate(chatml, "", "<|im_end|>"));
        assertEquals("<|im_start|>user\n17+25=<|im_end|>\n<|im_start|>assistant\n32<|im_end|>\n<|im_start|>user\nCheck and correct:<|im_end|>\n<|im_start|>assistant\n",
                r.second("17+25=", "32 "));
        assertEquals("<|im_start|>user\n17+25=<|im_end|>\n<|im_start|>assistant\n32<|im_end|>\n<|im_start|>user\nCritique:<|im_end|>\n<|im_start|>assistant\n",
                r.criticPrompt("17+25=", "32"));
    }
}
