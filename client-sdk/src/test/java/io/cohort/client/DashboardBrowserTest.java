package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in a real headless Chromium (Debian's, driven by Selenium through its
 * chromedriver), against a coordinator JVM with tokens and two worker JVMs: while a job runs the
 * page shows both workers and the completed count rising, a failed task's remote stack trace,
 * and that task's history. Leaves a screenshot in target/dashboard.png.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DashboardBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String MARKER = "dashboard-failure-marker";
    private static final int TASKS = 1_000;

    @TempDir
    Path dir;

    @Test
    void thePageShowsWorkersProgressAndARemoteStackTraceWhileAJobRuns() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver):"
                        + " the dashboard's browser test is skipped");
        Path clientToken = CoordinatorProcesses.tokenFile(dir, "client.token", "dashboard-client-token");
        Path workerToken = CoordinatorProcesses.tokenFile(dir, "worker.token", "dashboard-worker-token");
        try (CoordinatorProcesses coordinators = new CoordinatorProcesses();
             WorkerProcesses workers = new WorkerProcesses()) {
            coordinators.start(List.of(), "--port", "0", "--http-port", "0",
                    "--client-token-file", clientToken.toString(), "--worker-token-file", workerToken.toString());
            String target = MetricsEndpointTest.find(coordinators, "listening on (\\S+)");
            String page = MetricsEndpointTest.find(coordinators, "cohort dashboard on (\\S+)");
            workers.start(target, "web-1", "--token-file", workerToken.toString());
            workers.start(target, "web-2", "--token-file", workerToken.toString());
            WebDriver browser = chromium();
            try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(target)
                    .authToken("dashboard-client-token").connectTimeout(Duration.ofSeconds(60)).build())) {
                browser.get(page + "?token=dashboard-client-token");   // the page keeps it as a cookie
                onPage(() -> activeWorkers(browser).size() == 2, 90);
                List<String> shown = activeWorkers(browser);
                assertTrue(shown.containsAll(List.of("web-1", "web-2")), "both workers shown: " + shown);

                List<TaskFuture<Integer>> job = new ArrayList<>();
                TaskFuture<Integer> failing = cohort.submit(() -> {
                    throw new IllegalStateException(MARKER);
                });
                for (int i = 0; i < TASKS; i++) {
                    job.add(cohort.submit((Integer x) -> {
                        Thread.sleep(10);
                        return x;
                    }, i));
                }
                long first = awaitCompletedAbove(browser, 0);
                assertFalse(job.stream().allMatch(TaskFuture::isDone), "the job still runs when the page first counts it");
                long later = awaitCompletedAbove(browser, first);
                assertTrue(later > first);

                ExecutionException thrown = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                        () -> failing.get(60, TimeUnit.SECONDS));
                assertTrue(thrown.getCause().getMessage().contains(MARKER));
                onPage(() -> text(browser, "#failures").contains(MARKER), 30);
                String trace = text(browser, "#failures pre.trace");
                assertTrue(trace.contains("java.lang.IllegalStateException: " + MARKER)
                        && trace.contains("at io.cohort.client.DashboardBrowserTest"), "the remote stack trace: " + trace);

                onPage(() -> {
                    try {
                        browser.findElement(By.cssSelector("#failures .failure .head")).click();
                        return true;
                    } catch (org.openqa.selenium.StaleElementReferenceException redrawn) {
                        return false;   // a newer failure came in between: look again
                    }
                }, 30);
                onPage(() -> text(browser, "#history").contains("FAILED"), 30);
                String history = text(browser, "#history");
                assertTrue(history.contains("QUEUED") && history.contains("ASSIGNED")
                        && (history.contains("web-1") || history.contains("web-2")), "the task's history: " + history);

                for (TaskFuture<Integer> f : job) {
                    f.get(120, TimeUnit.SECONDS);
                }
                onPage(() -> completed(browser) == TASKS + 1, 30);
                File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
                Path saved = Path.of("target", "dashboard.png");
                Files.copy(shot.toPath(), saved, StandardCopyOption.REPLACE_EXISTING);
                assertTrue(Files.size(saved) > 10_000, "a screenshot in " + saved.toAbsolutePath());
            } finally {
                browser.quit();
            }
        }
    }

    /** Debian's chromium, headless, with a fresh profile, talking to nothing but the page. */
    private WebDriver chromium() throws Exception {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
                "--user-data-dir=" + Files.createDirectory(dir.resolve("chromium-profile")), "--window-size=1280,1900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withTimeout(Duration.ofSeconds(90)).build();
        return new ChromeDriver(service, options);
    }

    /** Polls the page every 100 ms (each look is a call to chromedriver) until {@code condition} holds, failing after {@code seconds}. */
    private static void onPage(java.util.function.BooleanSupplier condition, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "the page did not show it within " + seconds + " s");
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    /**
     * The text of the first element {@code css} selects, read in one script: the page redraws
     * parts of itself each second, so an element found in one call may be gone by the next.
     */
    private static String text(WebDriver browser, String css) {
        Object text = ((JavascriptExecutor) browser).executeScript(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css);
        return String.valueOf(text);
    }

    /** The ids of the workers the page shows as active, read in one script. */
    @SuppressWarnings("unchecked")
    private static List<String> activeWorkers(WebDriver browser) {
        return new ArrayList<>((List<String>) ((JavascriptExecutor) browser).executeScript(
                "return Array.from(document.querySelectorAll('#workers tr.worker.active')).map(r => r.dataset.id);"));
    }

    private static long completed(WebDriver browser) {
        String shown = text(browser, "#count-completed");
        return shown.matches("[0-9]+") ? Long.parseLong(shown) : -1;
    }

    /** Waits until the page's completed count is above {@code floor}; returns it. */
    private static long awaitCompletedAbove(WebDriver browser, long floor) {
        long[] seen = new long[1];
        onPage(() -> (seen[0] = completed(browser)) > floor, 60);
        return seen[0];
    }
}
