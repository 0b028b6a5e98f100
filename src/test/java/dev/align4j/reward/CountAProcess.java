package dev.align4j.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;

/**
 * A reward process for tests, speaking align4j's JSONL protocol: the reward of a completion is its share of the letter
 * in the row's {@code letter} column. Modes for failure tests: {@code exit} (dies at once), {@code garbage} (answers
 * non-JSON), {@code sleep} (never answers), {@code short} (one reward too few), {@code failfrom N COUNTER MARKER} (counts requests
 * in the file COUNTER across restarts and dies from the N-th on while the file MARKER exists).
 */
public final class CountAProcess {
    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "ok";
        if (mode.equals("exit")) { System.err.println("reward: cannot load my model"); System.exit(3); }
        ObjectMapper json = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (mode.equals("sleep")) Thread.sleep(60_000);
            if (mode.equals("failfrom")) {
                java.nio.file.Path counter = java.nio.file.Path.of(args[2]);
                int n = java.nio.file.Files.exists(counter) ? Integer.parseInt(java.nio.file.Files.readString(counter).trim()) + 1 : 1;
                java.nio.file.Files.writeString(counter, String.valueOf(n));
                if (n >= Integer.parseInt(args[1]) && java.nio.file.Files.exists(java.nio.file.Path.of(args[3]))) { System.err.println("reward: lost my GPU"); System.exit(4); }
            }
            if (mode.equals("garbage")) { System.out.println("hello"); System.out.flush(); continue; }
            JsonNode req = json.readTree(line);
            JsonNode completions = req.get("completions"), letters = req.get("letter");
            StringBuilder out = new StringBuilder("{\"rewards\": [");
            int n = completions.size() - (mode.equals("short") ? 1 : 0);
            for (int i = 0; i < n; i++) out.append(i > 0 ? ", " : "").append(share(completions.get(i).asText(), letters.get(i).asText().charAt(0)));
            System.out.println(out.append("]}"));
            System.out.flush();
        }
    }

    public static double share(String completion, char letter) {
        if (completion.isEmpty()) return 0;
        return completion.chars().filter(c -> c == letter).count() / (double) completion.length();
    }
}
