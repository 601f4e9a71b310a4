package dev.concord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Compiles every README example marked {@code // example: runnable} and runs each as a program
 * against the live server (CONCORD_BASE_URL and CONCORD_API_KEY set for it).
 */
class ReadmeTest {
  private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

  @Test
  void runnableExamplesRun() throws IOException, InterruptedException {
    String url = System.getenv("CONCORD_TEST_BASE_URL");
    String key = System.getenv("CONCORD_TEST_API_KEY");
    Assumptions.assumeTrue(url != null && key != null, "needs the live server");
    String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
    List<String> runnable = new ArrayList<>();
    Matcher m = BLOCK.matcher(readme);
    while (m.find()) {
      if (m.group(1).contains("// example: runnable")) {
        runnable.add(m.group(1));
      }
    }
    assertFalse(runnable.isEmpty(), "the README has no runnable example");
    Path dir = Files.createTempDirectory("concord-readme");
    List<String> classes = new ArrayList<>();
    List<Path> sources = new ArrayList<>();
    for (String block : runnable) {
      Matcher name = Pattern.compile("public class (\\w+)").matcher(block);
      assertTrue(name.find(), "a runnable example declares a public class:\n" + block);
      classes.add(name.group(1));
      sources.add(Files.writeString(dir.resolve(name.group(1) + ".java"), block));
    }
    String classpath = System.getProperty("java.class.path");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    List<String> args = new ArrayList<>(List.of("-d", dir.toString(), "-cp", classpath));
    sources.forEach(p -> args.add(p.toString()));
    assertEquals(0, javac.run(null, null, null, args.toArray(new String[0])), "examples compile");
    for (String example : classes) {
      ProcessBuilder run =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  dir + java.io.File.pathSeparator + classpath,
                  example)
              .redirectErrorStream(true);
      run.environment().put("CONCORD_BASE_URL", url);
      run.environment().put("CONCORD_API_KEY", key);
      Process process = run.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(process.waitFor(120, TimeUnit.SECONDS), example);
      assertEquals(0, process.exitValue(), example + "\n---\n" + output);
    }
  }
}
