package io.flexiserve;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The package rules: the core stays free of frameworks, and each layer knows nothing of the layers above it. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.flexiserve");

    @Test
    void coreStaysFreeOfFrameworks() {
        noClasses().that().resideInAnyPackage("..model..", "..tokenizer..", "..engine..", "..finetune..", "..structured..")
                .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "jakarta..", "io.micrometer..",
                        "io.smallrye..", "org.eclipse.microprofile..", "io.vertx..")
                .check(CLASSES);
    }

    @Test
    void structuredOutputsKnowOnlyJsonAndBytes() {
        noClasses().that().resideInAPackage("io.flexiserve.structured..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.flexiserve.model..",
                        "io.flexiserve.engine..", "io.flexiserve.tokenizer..", "io.flexiserve.api..")
                .check(CLASSES);
        noClasses().that().resideInAPackage("io.flexiserve.engine..")
                .should().dependOnClassesThat().resideInAPackage("io.flexiserve.structured..")
                .check(CLASSES);
    }

    /** The CPU kernels know no layer: the JDK, DJL, Jackson, logging, the Vector API and checkpoint files only. */
    @Test
    void cpuKernelsKnowOnlyWhatTheirPackageInfoAllows() {
        classes().that().resideInAPackage("io.flexiserve.model.cpu..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.flexiserve.model.cpu..",
                        "io.flexiserve.model.checkpoint..", "java..", "javax.management..", "sun.misc..", "ai.djl..",
                        "com.fasterxml.jackson..", "org.jboss.logging..", "jdk.incubator.vector..", "")
                .check(CLASSES);
    }

    @Test
    void modelKnowsNothingAboveIt() {
        noClasses().that().resideInAPackage("io.flexiserve.model..")
                .should().dependOnClassesThat().resideInAnyPackage("io.flexiserve.tokenizer..", "io.flexiserve.engine..",
                        "io.flexiserve.api..", "io.flexiserve.cli..")
                .check(CLASSES);
    }

    @Test
    void engineDoesNotTokenizeAndTokenizerDoesNotRunTheModel() {
        noClasses().that().resideInAPackage("io.flexiserve.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("io.flexiserve.tokenizer..", "io.flexiserve.api..")
                .check(CLASSES);
        noClasses().that().resideInAPackage("io.flexiserve.tokenizer..")
                .should().dependOnClassesThat().resideInAnyPackage("io.flexiserve.model..", "io.flexiserve.engine..")
                .check(CLASSES);
    }

    @Test
    void fineTuningRunsWithoutTheServiceAndOnlyItsK8sPackageTalksToKubernetes() {
        noClasses().that().resideInAPackage("io.flexiserve.finetune..")
                .should().dependOnClassesThat().resideInAnyPackage("io.flexiserve.api..", "io.flexiserve.admin..",
                        "io.flexiserve.engine..", "io.flexiserve.metrics..")
                .check(CLASSES);
        noClasses().that().resideOutsideOfPackages("io.flexiserve.finetune.k8s..", "io.flexiserve")
                .should().dependOnClassesThat().resideInAnyPackage("io.fabric8..")
                .check(CLASSES);
    }

    @Test
    void adminNeverTouchesTensors() {
        noClasses().that().resideInAPackage("io.flexiserve.admin..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.flexiserve.model..")
                .check(CLASSES);
    }

    @Test
    void apiNeverTouchesTensors() {
        noClasses().that().resideInAPackage("io.flexiserve.api..")
                .should().dependOnClassesThat().resideInAnyPackage("ai.djl..", "io.flexiserve.model..")
                .check(CLASSES);
    }
}
