package dev.align4j.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.align4j.core.UserError;

import java.util.*;

/**
 * A tokenizer_config.json {@code chat_template} rendered with a Jinja engine (Jinjava), the way
 * transformers' {@code apply_chat_template} does: variables {@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}, and the function {@code raise_exception(msg)}.
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {}

    private final String template, bos, eos;
    private final Jinjava jinja;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bos = bosToken == null ? "" : bosToken;
        this.eos = eosToken == null ? "" : eosToken;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** The template's {@code raise_exception(msg)}: Jinjava wraps the exception, so the message is kept aside. */
    public static String raiseException(String message) {
        RAISED.set(message);
        throw new IllegalStateException(message);
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> ms = new ArrayList<>();
        for (Message m : messages) ms.add(new LinkedHashMap<>(Map.of("role", m.role(), "content", m.content())));
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", ms);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        RAISED.remove();
        RenderResult r = jinja.renderForResult(template, ctx);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) throw new UserError("chat template: " + raised);
        for (TemplateError e : r.getErrors())
            if (e.getSeverity() == TemplateError.ErrorType.FATAL)
                throw new UserError("chat template: " + e.getMessage() + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""));
        return r.getOutput();
    }

    /**
     * Splits a conversation into (prompt, completion) text: the prompt is everything before the last
     * assistant message rendered with the generation prompt; the completion is the rest of the full rendering.
     */
    public String[] promptAndCompletion(List<Message> prompt, List<Message> completion) {
        String p = render(prompt, true);
        List<Message> all = new ArrayList<>(prompt);
        all.addAll(completion);
        String full = render(all, false);
        if (!full.startsWith(p))
            throw new UserError("chat template: the rendered conversation does not start with the rendered prompt, so the completion cannot be split off");
        return new String[]{p, full.substring(p.length())};
    }
}
