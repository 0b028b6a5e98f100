package dev.align4j.generate;

import dev.align4j.core.UserError;
import dev.align4j.model.ChatTemplate;

import java.util.ArrayList;
import java.util.List;

/**
 * The multi-attempt format of self-correction (SCoRe, Kumar et al. 2024): prompt x → attempt y₁ → feedback p₁ (a fixed
 * "check and correct" instruction, or a critic's critique) → attempt y₂ → … Builds the prompt of the next attempt from
 * the prompt and the attempts (and feedback) so far; it never samples.
 *
 * <p>Two renderings:
 * <ul>
 * <li>{@code TEXT}, for raw-text prompts such as the built-in tasks' {@code 17+25=}: each earlier attempt is followed by a
 *     newline, the feedback, a newline and the prompt once more, so the next attempt is written where the first one was:
 *     <pre>17+25=32\nCheck and correct:\n17+25=</pre></li>
 * <li>{@code CHAT}, for chat models: the conversation [user x, assistant y₁, user p₁, assistant y₂, …] rendered by the
 *     model's chat template with the generation prompt (the feedback turn is the instruction alone: the question is already
 *     in the conversation).</li>
 * </ul>
 * A critique takes the place of the instruction as {@code Critique: TEXT} ({@link #critiqueFeedback}).
 */
public record Revision(String instruction, ChatTemplate chat) {
    /** The fixed feedback between attempts (SCoRe's "find a mistake and correct it" instruction, shortened for tiny models). */
    public static final String INSTRUCTION = "Check and correct:";
    /** What a critic model is prompted with after the attempt it critiques (it writes one line). */
    public static final String CRITIC_CUE = "Critique:";

    public Revision {
        UserError.check(instruction != null && !instruction.isBlank(), "the revision instruction must not be empty");
    }

    /** The raw-text format with the fixed instruction (the built-in tasks'). */
    public static Revision text() { return new Revision(INSTRUCTION, null); }

    /** The chat format with the fixed instruction. */
    public static Revision chat(ChatTemplate template) { return new Revision(INSTRUCTION, template); }

    /** A critique as the feedback of a revision turn. */
    public static String critiqueFeedback(String critique) { return CRITIC_CUE + " " + critique.strip(); }

    /** The prompt of attempt 2 after {@code attempt}, with the fixed instruction. */
    public String second(String prompt, String attempt) { return next(prompt, List.of(attempt), List.of()); }

    /**
     * The prompt of attempt k + 1 after attempts y₁ … y_k; {@code feedback} holds a critique for some of them (index i for
     * attempt i; missing or null entries take the fixed instruction).
     */
    public String next(String prompt, List<String> attempts, List<String> feedback) {
        if (attempts.isEmpty()) throw new IllegalArgumentException("a revision follows at least one attempt");
        List<String> fb = new ArrayList<>();
        for (int i = 0; i < attempts.size(); i++) fb.add(i < feedback.size() && feedback.get(i) != null ? feedback.get(i) : instruction);
        if (chat == null) {
            StringBuilder b = new StringBuilder(prompt);
            for (int i = 0; i < attempts.size(); i++) b.append(attempts.get(i).strip()).append('\n').append(fb.get(i)).append('\n').append(prompt);
            return b.toString();
        }
        List<ChatTemplate.Message> messages = new ArrayList<>();
        messages.add(new ChatTemplate.Message("user", prompt));
        for (int i = 0; i < attempts.size(); i++) {
            messages.add(new ChatTemplate.Message("assistant", attempts.get(i).strip()));
            messages.add(new ChatTemplate.Message("user", fb.get(i)));
        }
        return chat.render(messages, true);
    }

    /** The prompt a critic completes: the attempt in the same rendering, then {@link #CRITIC_CUE}. */
    public String criticPrompt(String prompt, String attempt) {
        if (chat == null) return prompt + attempt.strip() + "\n" + CRITIC_CUE;
        return chat.render(List.of(new ChatTemplate.Message("user", prompt), new ChatTemplate.Message("assistant", attempt.strip()),
                new ChatTemplate.Message("user", CRITIC_CUE)), true);
    }
}
