package io.flexiserve.finetune;

import io.flexiserve.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded synthetic conversations for training tests: short arithmetic questions with patterned answers. */
final class TrainingData {

    private TrainingData() {
    }

    static List<List<ChatMessage>> conversations(int count, long seed) {
        Random random = new Random(seed);
        List<List<ChatMessage>> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(10);
            int b = random.nextInt(10);
            out.add(List.of(new ChatMessage("user", "What is " + a + " plus " + b + "?"),
                    new ChatMessage("assistant", a + " plus " + b + " is " + (a + b) + ".")));
        }
        return out;
    }

    /** The same conversations as JSONL lines in the tulu {@code messages} shape. */
    static String jsonl(int count, long seed) {
        StringBuilder sb = new StringBuilder();
        for (List<ChatMessage> c : conversations(count, seed)) {
            sb.append("{\"messages\":[");
            for (int i = 0; i < c.size(); i++) {
                sb.append(i == 0 ? "" : ",").append("{\"role\":\"").append(c.get(i).role()).append("\",\"content\":\"")
                        .append(c.get(i).content()).append("\"}");
            }
            sb.append("]}\n");
        }
        return sb.toString();
    }
}
