package io.flexiserve.finetune;

import io.flexiserve.tokenizer.ChatMessage;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenized training examples: each conversation rendered by the checkpoint's chat template without a
 * generation prompt and tokenized as is (the template supplies BOS). Examples longer than the maximum length
 * are dropped, not truncated (docs/model.md section 6), and counted.
 */
public record TrainingSet(List<int[]> examples, int dropped, long tokens) {

    public TrainingSet {
        examples = List.copyOf(examples);
    }

    public static TrainingSet of(List<List<ChatMessage>> conversations, ChatTemplate template, Tokenizer tokenizer,
                                 int maxLength) {
        List<int[]> examples = new ArrayList<>();
        int dropped = 0;
        long tokens = 0;
        for (List<ChatMessage> conversation : conversations) {
            int[] ids = tokenizer.encode(template.render(conversation, false));
            if (ids.length > maxLength || ids.length < 2) {
                dropped++;
            } else {
                examples.add(ids);
                tokens += ids.length;
            }
        }
        return new TrainingSet(examples, dropped, tokens);
    }
}
