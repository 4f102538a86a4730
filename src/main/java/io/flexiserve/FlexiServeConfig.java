package io.flexiserve;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Every FlexiServe setting, under {@code flexiserve.*}; each key also works as an environment variable
 * ({@code FLEXISERVE_MODEL_PATH}, ...). README.md, "Configuration" lists them.
 */
@ConfigMapping(prefix = "flexiserve")
public interface FlexiServeConfig {

    Model model();

    Engine engine();

    Api api();

    Metrics metrics();

    /** Accepted Bearer keys for /v1/*; none configured leaves the API open. */
    Optional<java.util.List<String>> apiKeys();

    Admin admin();

    Limits limits();

    Finetune finetune();

    Memory memory();

    /** The memory budget: what the process may use for weights, the KV cache and steps, and what it leaves alone. */
    interface Memory {

        /** {@link #reserve()}'s default. */
        String DEFAULT_RESERVE = "1G";

        /** Bytes this process may use (e.g. {@code 20G}); unset: the container's cgroup limit, else the memory available at start. */
        Optional<MemorySize> limit();

        /** Left to the JVM's heap and code, native libraries and the OS: never planned for weights, KV or steps. */
        @WithDefault(DEFAULT_RESERVE)
        MemorySize reserve();
    }

    /** Demo model, uploaded files, fine-tuning jobs and their outputs. */
    @WithDefault("${user.home}/.flexiserve")
    Path dataDir();

    /** The served checkpoint. */
    interface Model {

        /** HF checkpoint directory; unset serves the generated demo model. */
        Optional<Path> path();

        /** Model id in /v1/models; defaults to the directory's name. */
        Optional<String> name();

        /** {@code cpu}, {@code gpu}, {@code gpu:1}; unset picks gpu when one is visible, else cpu. */
        Optional<String> device();

        /**
         * {@code auto}: f16 on GPU; on CPU with the Java kernels ({@code --add-modules jdk.incubator.vector}) the first
         * of {@code mixed}, {@code q8}, {@code q4} that fits the memory budget (logged with the reason; none fitting,
         * the start is refused), without them f32.
         * Or: {@code f32}; {@code f16}; {@code f16-weights} (f16 projection weights under f32 activations, libtorch's
         * kernels); {@code mixed} (CPU: f16 projections packed for FlexiServe's Java kernels as their only copy, half
         * the memory of f32; decode steps run entirely in Java and every projection on the same kernels, so a decode
         * row's logits do not depend on the batch; without the Vector API, f16 weights plus f32 copies for steps of 10
         * rows or more, 1.5x the memory of f32); {@code q8} and {@code q4} (as {@code mixed}, the projections and LM
         * head quantized at load to 8 or 4 bits per weight with a scale per 64 or 32: about 0.54x and 0.32x its
         * memory at 8B).
         */
        @WithDefault("auto")
        String dtype();

        /** Context limit in tokens; defaults to max_position_embeddings of config.json. */
        Optional<Integer> maxModelLen();

        /** Multiply the router's W_head W_dec out at load (faster, not bit-identical to the release). */
        @WithDefault("false")
        boolean premultiplyRouterHead();

        /**
         * Keep the Java kernels' packed weights ({@code mixed}, {@code q8}, {@code q4}) under
         * {@code <data-dir>/packed}, one entry per checkpoint and dtype (as large as the packed weights), so that a
         * restart maps them instead of converting the checkpoint again. Delete the directory to reclaim the space.
         */
        @WithDefault("true")
        boolean packedCache();

        /**
         * Where {@link #packedCache()} keeps its entries instead of {@code <data-dir>/packed}: a faster or larger disk,
         * or a directory several services (or {@code bench --packed-cache}) share. Entries of other checkpoints and
         * dtypes are left alone there.
         */
        Optional<Path> packedCacheDir();

        /**
         * End the process (exit status 1) when the model cannot be loaded, after logging why: an orchestrator then
         * shows a crash loop with the reason instead of a pod that never gets ready. Off, the service stays up with
         * readiness down and the reason in its health body.
         */
        @WithDefault("true")
        boolean exitOnLoadFailure();
    }

    /** Fine-tuning jobs (docs/architecture.md section 6). */
    interface Finetune {

        /** {@code local} (a worker in this JVM) or {@code kubernetes} (a batch/v1 Job per job). */
        @WithDefault("local")
        String runner();

        /** Largest accepted training file upload. */
        @WithDefault("536870912")
        long maxFileBytes();

        /** KV cache tokens of each served fine-tuned router set (the base's cache is not shared). */
        @WithDefault("16384")
        int servedKvCacheTokens();

        /** Serve each succeeded job's router set as its fine_tuned_model at once (and again after a restart). */
        @WithDefault("true")
        boolean serveResults();

        Kubernetes kubernetes();

        /** The Kubernetes runner's Job template (k8s/ holds the matching RBAC and PVC). */
        interface Kubernetes {

            /** Namespace for trainer Jobs; unset uses the client's (the pod's own namespace in a cluster). */
            Optional<String> namespace();

            /** The service's own image, run in trainer mode. */
            @WithDefault("ghcr.io/flexiserve/flexiserve:cuda")
            String image();

            /** PVC shared with the service, mounted at the data dir in the trainer pod. */
            @WithDefault("flexiserve-data")
            String dataClaim();

            /** Where the claim is mounted in both pods; the service's data dir must live under it. */
            @WithDefault("/data")
            String dataMountPath();

            /** PVC holding the base weights, mounted read-only in trainer pods; unset when they are on the data claim. */
            Optional<String> modelClaim();

            /** Where the weights claim is mounted (the service's flexiserve.model.path lives under it). */
            @WithDefault("/models")
            String modelMountPath();

            @WithDefault("flexiserve-trainer")
            String serviceAccount();

            /** nvidia.com/gpu limit of a trainer pod; 0 trains on CPU. */
            @WithDefault("1")
            int gpus();

            /** Memory of a trainer pod (its limit, and so its request): the checkpoint passes through it as it loads. */
            @WithDefault("16Gi")
            String memory();

            /**
             * The service's own pod, whose tolerations and node selector trainer pods copy (a GPU node's taint, say);
             * unset: the pod named by the HOSTNAME variable, as Kubernetes sets it.
             */
            Optional<String> podName();

            /** Seconds a finished Job is kept before Kubernetes deletes it. */
            @WithDefault("86400")
            int ttlSecondsAfterFinished();

            /** How often job status and pod logs are read. */
            @WithDefault("5")
            int pollSeconds();
        }
    }

    /** Per-request limits (README.md, "Security and limits"). */
    interface Limits {

        @WithDefault("16")
        int maxN();

        /** Prompts times n. */
        @WithDefault("64")
        int maxChoices();

        @WithDefault("4")
        int maxStop();

        @WithDefault("256")
        int maxStopLength();

        @WithDefault("300")
        int maxLogitBias();

        @WithDefault("1024")
        int maxMessages();

        @WithDefault("64")
        int maxPrompts();

        /** Completion tokens per choice; 0 allows up to the context limit. */
        @WithDefault("0")
        int maxTokens();

        /** SSE bytes queued for a client that reads slower than tokens come; beyond it the stream is dropped. */
        @WithDefault("1048576")
        int streamBufferBytes();

        /** Seconds a stream's client may accept none of the bytes waiting for it before the stream is dropped. */
        @WithDefault("30")
        int streamStallSeconds();
    }

    /** The admin surface. */
    interface Admin {

        /** Bearer token for /admin/*; generated at start (and logged once) when unset. */
        Optional<String> token();
    }

    /** Meter settings. */
    interface Metrics {

        /** Bucket bounds in seconds of the latency histograms (TTFT, inter-token, end-to-end, queue). */
        @WithDefault("0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10,30,60,120,300,600,1200")
        java.util.List<Double> latencyBuckets();
    }

    /** Limits of the HTTP surface. */
    interface Api {

        /** Largest accepted request body; larger ones get 413. */
        @WithDefault("4194304")
        long maxBodyBytes();
    }

    /** Batching and memory limits of the engine. */
    interface Engine {

        /** {@link #maxNumSeqs()}'s default. */
        String DEFAULT_MAX_NUM_SEQS = "64";

        /** {@link #maxBatchTokens()}'s default. */
        String DEFAULT_MAX_BATCH_TOKENS = "2048";

        /** Sequences decoded together in one step. */
        @WithDefault(DEFAULT_MAX_NUM_SEQS)
        int maxNumSeqs();

        /** Token rows per step (decode rows plus prompt chunks). */
        @WithDefault(DEFAULT_MAX_BATCH_TOKENS)
        int maxBatchTokens();

        /** Requests waiting for a slot before new ones get 429. */
        @WithDefault("256")
        int maxQueuedRequests();

        /** KV cache capacity in tokens; unset sizes it from free memory. */
        Optional<Integer> kvCacheTokens();

        /** Tokens per KV cache block (a power of two): the unit of allocation and of prefix sharing. */
        @WithDefault("16")
        int kvBlockSize();

        /** Whether full prompt blocks are kept and shared by later prompts that start alike (automatic prefix caching). */
        @WithDefault("true")
        boolean prefixCaching();

        /**
         * At shutdown, after Quarkus' own wait for HTTP requests (quarkus.shutdown.timeout, streams included), how
         * long the engines' remaining work (requests without a connection, fine-tuned sets) may take before it is
         * stopped. The two waits add up: keep their sum, with quarkus.shutdown.delay, below the platform's grace.
         */
        @WithDefault("5")
        int shutdownGraceSeconds();
    }
}
