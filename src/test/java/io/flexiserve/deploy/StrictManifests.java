package io.flexiserve.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses Kubernetes YAML into fabric8 model objects and finds every field fabric8 did not recognise: the
 * model classes keep unknown fields in {@code additionalProperties}, so a misspelt or misplaced key shows up
 * there, with its path.
 */
final class StrictManifests {

    private StrictManifests() {
    }

    /** Every document of a multi-document YAML string, typed by its apiVersion and kind. */
    static List<HasMetadata> parse(String yaml) {
        List<HasMetadata> out = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---\\s*$")) {
            if (doc.lines().anyMatch(l -> !l.isBlank() && !l.trim().startsWith("#"))) {
                out.add((HasMetadata) Serialization.unmarshal(doc));
            }
        }
        return out;
    }

    /** Paths of unknown fields in a typed resource (a custom resource is typed by its own checks instead). */
    static List<String> unknownFields(HasMetadata resource) {
        List<String> problems = new ArrayList<>();
        if (!(resource instanceof GenericKubernetesResource)) {
            walk(resource, resource.getKind() + "/" + resource.getMetadata().getName(), problems, new IdentityHashMap<>());
        }
        return problems;
    }

    private static void walk(Object node, String path, List<String> problems, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || seen.put(node, true) != null) {
            return;
        }
        if (node instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                walk(item, path + "[" + i++ + "]", problems, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> m) {
            m.forEach((k, v) -> walk(v, path + "." + k, problems, seen));
            return;
        }
        if (!(node instanceof KubernetesResource) || !node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        try {
            Method additional = node.getClass().getMethod("getAdditionalProperties");
            Map<?, ?> extra = (Map<?, ?>) additional.invoke(node);
            if (extra != null) {
                extra.keySet().forEach(k -> problems.add(path + "." + k));
            }
            for (PropertyDescriptor p : Introspector.getBeanInfo(node.getClass()).getPropertyDescriptors()) {
                if (p.getReadMethod() != null && !p.getName().equals("additionalProperties") && !p.getName().equals("class")) {
                    walk(p.getReadMethod().invoke(node), path + "." + p.getName(), problems, seen);
                }
            }
        } catch (ReflectiveOperationException | java.beans.IntrospectionException e) {
            throw new IllegalStateException("cannot inspect " + path, e);
        }
    }
}
