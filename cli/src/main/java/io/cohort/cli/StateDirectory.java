package io.cohort.cli;

import java.nio.file.Path;
import java.util.Map;

/** Where a daemon keeps its state when not told: the XDG base directory for state, never the working directory. */
final class StateDirectory {
    private StateDirectory() {}

    /** {@code given}, else {@code $XDG_STATE_HOME/cohort}, else {@code $HOME/.local/state/cohort}. */
    static Path resolve(Path given) {
        // $HOME as the XDG spec says; the JVM's user.home comes from the password database instead
        String home = System.getenv("HOME");
        if (home == null || home.isBlank()) {
            home = System.getProperty("user.home");
        }
        return resolve(given, System.getenv(), home);
    }

    static Path resolve(Path given, Map<String, String> env, String home) {
        if (given != null) {
            return given;
        }
        String xdg = env.get("XDG_STATE_HOME");
        // The XDG spec: a relative path in the variable is invalid and is ignored.
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "cohort");
        }
        return Path.of(home, ".local", "state", "cohort");
    }
}
