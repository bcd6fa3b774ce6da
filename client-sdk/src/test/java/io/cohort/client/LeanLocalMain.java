package io.cohort.client;

/** Run by LeanClasspathIT on cohort-client's own class path: an application's first job. */
public final class LeanLocalMain {
    private LeanLocalMain() {}

    public static void main(String[] args) throws Exception {
        try (CohortExecutor ex = Cohort.local(1)) {
            System.out.println("answer " + ex.submit(() -> 6 * 7).get());
        }
    }
}
