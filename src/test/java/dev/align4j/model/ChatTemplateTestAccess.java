package dev.align4j.model;

/** The ChatML template of {@link ChatTemplateTest}, for tests in other packages. */
public final class ChatTemplateTestAccess {
    private ChatTemplateTestAccess() {}

    public static ChatTemplate chatml() { return new ChatTemplate(ChatTemplateTest.CHATML, "", "<|im_end|>"); }
}
