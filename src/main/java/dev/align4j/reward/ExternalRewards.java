package dev.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.align4j.core.Json;
import dev.align4j.core.UserError;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.*;

/**
 * Rewards computed outside the JVM, batched: a long-running <b>process</b> that reads one JSON request per line on stdin
 * and answers one JSON line on stdout, or an <b>HTTP endpoint</b> that answers a JSON POST (as OpenRLHF's remote reward
 * model). The request is column-oriented, as TRL calls its reward functions with {@code prompts}, {@code completions} and
 * one list per extra dataset column:
 * <pre>
 * → {"prompts": ["2+2=", …], "completions": ["4", …], "solution": ["4", …], "completion_tokens": [2, …]}
 * ← {"rewards": [1.0, …]}            (a bare array [1.0, …] is accepted too)
 * </pre>
 * A request that times out, a process that exits, an endpoint that is down or answers garbage is retried once (the
 * process restarted); a second failure is a user error that names the command or URL and what it said. The run then
 * stops with the loop's last checkpoint intact and resumes with {@code --resume}.
 */
public final class ExternalRewards {
    private ExternalRewards() {}

    /** The JSON request for a batch of samples. */
    static ObjectNode request(List<RewardFunction.Sample> samples) {
        ObjectNode o = Json.object();
        ArrayNode prompts = o.putArray("prompts"), completions = o.putArray("completions"), tokens = o.putArray("completion_tokens");
        Set<String> columns = new LinkedHashSet<>();
        for (RewardFunction.Sample s : samples) {
            prompts.add(s.prompt());
            completions.add(s.completion());
            tokens.add(s.completionTokens());
            if (s.example().fields() != null) s.example().fields().fieldNames().forEachRemaining(columns::add);
        }
        columns.removeAll(Set.of("prompts", "completions", "completion_tokens"));
        if (columns.isEmpty() && samples.stream().anyMatch(s -> !s.example().answer().isEmpty()))
            columns.add("answer");                                                          // built-in tasks: their reference answers
        for (String c : columns) {
            ArrayNode a = o.putArray(c);
            for (RewardFunction.Sample s : samples) {
                JsonNode v = s.example().fields() == null ? null : s.example().fields().get(c);
                if (v != null) a.add(v); else if (c.equals("answer")) a.add(s.example().answer()); else a.addNull();
            }
        }
        return o;
    }

    /** The rewards of a response, or a description of what is wrong with it. */
    static double[] parse(String response, int n, String source) {
        JsonNode r;
        try {
            r = Json.MAPPER.readTree(response);
        } catch (IOException e) {
            throw new BadAnswer(source + " answered something that is not JSON: " + abbreviate(response));
        }
        JsonNode list = r != null && r.isObject() ? r.get("rewards") : r;
        if (list == null || !list.isArray())
            throw new BadAnswer(source + " answered " + abbreviate(response) + "; expected {\"rewards\": [numbers]} or [numbers]");
        if (list.size() != n) throw new BadAnswer(source + " answered " + list.size() + " rewards for " + n + " completions");
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            JsonNode v = list.get(i);
            if (!v.isNumber() || !Double.isFinite(v.asDouble()))
                throw new BadAnswer(source + " answered reward " + i + " = " + v + "; expected a finite number");
            out[i] = v.asDouble();
        }
        return out;
    }

    static String abbreviate(String s) {
        String t = s == null ? "nothing" : s.strip();
        return t.length() > 200 ? t.substring(0, 200) + "…" : t.isEmpty() ? "an empty line" : t;
    }

    /** A failed request: retried once, then a user error. */
    static final class BadAnswer extends RuntimeException {
        BadAnswer(String message) { super(message); }
    }

    /** Scores with one retry; {@code reset} runs between the tries (restarts a process). */
    static double[] withRetry(String source, Callable<double[]> attempt, Runnable reset) {
        for (int tries = 1; ; tries++) {
            try {
                return attempt.call();
            } catch (Exception e) {
                String why = e instanceof BadAnswer || e instanceof UserError ? e.getMessage() : source + ": " + e;
                if (tries == 2) throw new UserError("reward " + why + " (after one retry); fix it and continue with --resume");
                System.err.println("reward: " + why + "; retrying once");
                reset.run();
            }
        }
    }

    /**
     * A reward process: {@code command} runs under {@code /bin/sh -c}, started on the first batch and kept for the run.
     *
     * @param timeout how long one batch may take
     */
    public static RewardFunction process(String name, String command, Duration timeout) {
        return new ProcessReward(name, command, timeout);
    }

    /** An HTTP reward endpoint: each batch is one JSON POST to {@code url}. */
    public static RewardFunction http(String name, String url, Duration timeout) {
        URI uri;
        try {
            uri = URI.create(url);
            if (uri.getScheme() == null || !uri.getScheme().startsWith("http")) throw new IllegalArgumentException("not http(s)");
        } catch (IllegalArgumentException e) {
            throw new UserError("--reward-url " + url + ": not an http(s) URL");
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
        String source = "endpoint " + url;
        return new RewardFunction() {
            public String name() { return name; }

            public double[] score(List<Sample> samples) {
                String body = request(samples).toString();
                return withRetry(source, () -> {
                    HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    HttpResponse<String> res;
                    try {
                        res = client.send(req, HttpResponse.BodyHandlers.ofString());
                    } catch (java.net.http.HttpTimeoutException e) {
                        throw new BadAnswer(source + " did not answer within " + timeout.toSeconds() + " s");
                    } catch (IOException e) {
                        throw new BadAnswer(source + " cannot be reached (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
                    }
                    if (res.statusCode() != 200) throw new BadAnswer(source + " answered HTTP " + res.statusCode() + ": " + abbreviate(res.body()));
                    return parse(res.body(), samples.size(), source);
                }, () -> {});
            }
        };
    }

    /** The process behind {@link #process}: one request line out, one answer line back, stderr kept for error messages. */
    private static final class ProcessReward implements RewardFunction, AutoCloseable {
        final String name, command, source;
        final Duration timeout;
        final Deque<String> stderr = new ArrayDeque<>();
        final ExecutorService io = Executors.newCachedThreadPool(r -> { Thread t = new Thread(r, "reward-process"); t.setDaemon(true); return t; });
        Process process;
        BufferedWriter in;
        BufferedReader out;

        final Thread hook = new Thread(this::stop);
        volatile boolean closed;

        ProcessReward(String name, String command, Duration timeout) {
            this.name = name;
            this.command = command;
            this.timeout = timeout;
            this.source = "command '" + (command.length() > 80 ? command.substring(0, 77) + "…" : command) + "'";
            Runtime.getRuntime().addShutdownHook(hook);
        }

        public String name() { return name; }

        public synchronized double[] score(List<Sample> samples) {
            String line = request(samples).toString();
            return withRetry(source, () -> {
                if (closed) throw new BadAnswer(source + " was closed");
                if (process == null || !process.isAlive()) start();
                BufferedWriter w = in;
                BufferedReader r = out;
                Future<String> answer = io.submit(() -> {                 // the write too: a child that does not read must not block us
                    w.write(line);
                    w.newLine();
                    w.flush();
                    return r.readLine();
                });
                String got;
                try {
                    got = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    answer.cancel(true);
                    throw new BadAnswer(source + " did not answer within " + timeout.toSeconds() + " s" + stderrTail());
                } catch (ExecutionException e) {
                    throw new BadAnswer(source + " cannot be written to or read from (" + e.getCause() + ")" + exitCode() + stderrTail());
                }
                if (got == null) throw new BadAnswer(source + " exited" + exitCode() + stderrTail());
                return parse(got, samples.size(), source);
            }, this::stop);
        }

        void start() throws IOException {
            stop();
            process = new ProcessBuilder("/bin/sh", "-c", command).start();
            in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8));
            io.submit(() -> {
                for (String l; (l = err.readLine()) != null; ) synchronized (stderr) { stderr.addLast(l); if (stderr.size() > 20) stderr.removeFirst(); }
                return null;
            });
        }

        String exitCode() {
            try {
                return process != null && process.waitFor(1, TimeUnit.SECONDS) ? " with code " + process.exitValue() : "";
            } catch (InterruptedException e) {
                return "";
            }
        }

        String stderrTail() {
            synchronized (stderr) {
                return stderr.isEmpty() ? "" : "; its stderr ends: " + abbreviate(String.join(" | ", stderr));
            }
        }

        /** Ends the process and everything it started (a shell's children hold the pipes otherwise). */
        void stop() {
            Process p = process;
            process = null;
            if (p == null) return;
            try { p.getOutputStream().close(); } catch (IOException ignored) { }
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }

        /** Not synchronized: it must not wait for a scoring call that is blocked on the process. */
        @Override
        public void close() {
            closed = true;
            stop();
            io.shutdownNow();
            try { Runtime.getRuntime().removeShutdownHook(hook); } catch (IllegalStateException ignored) { }   // already shutting down
        }
    }
}
