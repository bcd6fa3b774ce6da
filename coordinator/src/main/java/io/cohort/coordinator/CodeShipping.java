package io.cohort.coordinator;

import java.util.List;
import java.util.Objects;

/**
 * Whether clients may ship application code, and what the coordinator keeps of it.
 *
 * @param enabled        false: every upload is refused ({@code --no-code-shipping})
 * @param codeToken      null: any client token may ship; else only this token (a client token too)
 * @param storeBytes     the most bytes of bundles kept, least recently used out
 * @param allowPackages  empty: any package; else every class of a shipped jar must be in one of
 *                       these packages (or below)
 */
public record CodeShipping(boolean enabled, String codeToken, long storeBytes, List<String> allowPackages) {
    public static final CodeShipping DEFAULTS = new CodeShipping(true, null, 2L << 30, List.of());

    public CodeShipping {
        Objects.requireNonNull(allowPackages, "allowPackages");
        allowPackages = List.copyOf(allowPackages);
        if (storeBytes < 1) {
            throw new IllegalArgumentException("code store bytes must be at least 1, not " + storeBytes);
        }
        if (codeToken != null && codeToken.isBlank()) {
            throw new IllegalArgumentException("the code token must not be blank");
        }
        for (String p : allowPackages) {
            if (p.isBlank() || !p.matches("[\\p{javaJavaIdentifierPart}.]+")) {
                throw new IllegalArgumentException("--ship-allow-package: \"" + p + "\" is not a package name");
            }
        }
    }

    public CodeShipping withEnabled(boolean on) {
        return new CodeShipping(on, codeToken, storeBytes, allowPackages);
    }
}
