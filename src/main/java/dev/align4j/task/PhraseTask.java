package dev.align4j.task;

import java.util.*;

/**
 * Open-ended and graded: write a short phrase about a topic, {@code write about the cat:} →
 * {@code the happy cat sleeps}. No single right answer; the gold reward is a smooth score:
 * 0.25 on-topic + 0.25 grammar (the ADJ NOUN VERB, per slot) + 0.3 sentiment (positive adjectives)
 * + 0.1 lexicon (known words) + 0.1 length (3–6 words). Demonstrations use positive and negative
 * adjectives alike, so supervised data teaches the form and only preferences teach the taste.
 */
public final class PhraseTask implements Task {
    static final List<String> NOUNS = List.of("cat", "dog", "bird", "fish", "sun", "tree", "child", "river", "moon", "horse");
    static final List<String> POSITIVE = List.of("happy", "bright", "kind", "calm", "warm", "gentle");
    static final List<String> NEGATIVE = List.of("sad", "dark", "cruel", "cold", "angry", "dull");
    static final List<String> VERBS = List.of("sleeps", "runs", "sings", "shines", "grows", "plays", "flows", "waits");

    @Override public String name() { return "phrase"; }

    @Override public String description() { return "a short phrase about a topic; smooth lexicon/grammar/sentiment score"; }

    @Override
    public Example sample(Random rng) {
        String noun = NOUNS.get(rng.nextInt(NOUNS.size()));
        String style = List.of("write about the ", "describe the ", "a line on the ").get(rng.nextInt(3));
        return new Example(style + noun + ":", "the " + POSITIVE.get(0) + " " + noun + " " + VERBS.get(0));
    }

    static String topic(Example ex) {
        String p = ex.prompt();
        return p.substring(p.lastIndexOf(' ') + 1, p.length() - 1);
    }

    @Override
    public double reward(Example ex, String completion) {
        String[] w = Task.firstLine(completion).toLowerCase().split("\\s+");
        if (w.length == 1 && w[0].isEmpty()) return 0;
        String topic = topic(ex);
        double onTopic = Arrays.asList(w).contains(topic) ? 1 : 0;
        // grammar: slots "the", ADJ, NOUN, VERB in order
        double grammar = 0;
        if (w.length > 0 && w[0].equals("the")) grammar += 0.25;
        if (w.length > 1 && (POSITIVE.contains(w[1]) || NEGATIVE.contains(w[1]))) grammar += 0.25;
        if (w.length > 2 && NOUNS.contains(w[2])) grammar += 0.25;
        if (w.length > 3 && VERBS.contains(w[3])) grammar += 0.25;
        int pos = 0, neg = 0, known = 0;
        for (String x : w) {
            if (POSITIVE.contains(x)) pos++;
            if (NEGATIVE.contains(x)) neg++;
            if (x.equals("the") || POSITIVE.contains(x) || NEGATIVE.contains(x) || NOUNS.contains(x) || VERBS.contains(x)) known++;
        }
        double sentiment = pos + neg == 0 ? 0.25 : 0.5 + 0.5 * (pos - neg) / (double) (pos + neg);
        double lexicon = (double) known / w.length;
        double length = w.length >= 3 && w.length <= 6 ? 1 : Math.exp(-Math.abs(w.length < 3 ? 3 - w.length : w.length - 6) / 2.0);
        return 0.25 * onTopic + 0.25 * grammar + 0.3 * sentiment + 0.1 * lexicon + 0.1 * length;
    }

    @Override
    public boolean correct(Example ex, String completion) { return reward(ex, completion) >= 0.95; }

    @Override
    public String demonstrate(Example ex, double errorRate, Random rng) {
        String topic = topic(ex);
        List<String> adjs = rng.nextBoolean() ? POSITIVE : NEGATIVE;
        String adj = adjs.get(rng.nextInt(adjs.size()));
        String verb = VERBS.get(rng.nextInt(VERBS.size()));
        if (rng.nextDouble() < errorRate) {
            return switch (rng.nextInt(3)) {
                case 0 -> "the " + adj + " " + NOUNS.get(rng.nextInt(NOUNS.size())) + " " + verb;  // off topic
                case 1 -> adj + " " + topic;                                                    // fragment
                default -> "the " + topic + " " + verb + " and " + verb;                       // clumsy
            };
        }
        return "the " + adj + " " + topic + " " + verb;
    }

    @Override public int maxCompletionChars() { return 28; }
}
