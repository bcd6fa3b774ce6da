package io.cohort.client;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Validation shared by the option builders; every failure names the field. */
final class OptionChecks {
    private OptionChecks() {}

    static IllegalArgumentException bad(String field, String problem) {
        return new IllegalArgumentException(field + " " + problem);
    }

    /**
     * Records that a setter was given null (or clears the record), so that build() can fail
     * naming the field rather than the setter throwing before build().
     */
    /** A deserialization filter pattern in ObjectInputFilter syntax; returns it stripped. */
    static String filterPattern(String field, String pattern) {
        try {
            return io.cohort.common.DeserializationFilter.of(pattern, field).pattern();
        } catch (IllegalArgumentException e) {
            throw bad(field, e.getMessage());
        }
    }

    static <T> T track(Set<String> nulls, String field, T value) {
        if (value == null) {
            nulls.add(field);
        } else {
            nulls.remove(field);
        }
        return value;
    }

    static void noNulls(Set<String> nulls) {
        if (!nulls.isEmpty()) {
            throw bad(nulls.iterator().next(), "must not be null");
        }
    }

    static <T> T notNull(String field, T value) {
        if (value == null) {
            throw bad(field, "must not be null");
        }
        return value;
    }

    static String notBlank(String field, String value) {
        if (notNull(field, value).isBlank()) {
            throw bad(field, "must not be blank");
        }
        return value;
    }

    static int atLeast(String field, int value, int min) {
        if (value < min) {
            throw bad(field, "must be >= " + min + ", got " + value);
        }
        return value;
    }

    static Duration positive(String field, Duration value) {
        if (notNull(field, value).isNegative() || value.isZero()) {
            throw bad(field, "must be positive, got " + value);
        }
        return value;
    }

    static Duration notNegative(String field, Duration value) {
        if (notNull(field, value).isNegative()) {
            throw bad(field, "must not be negative, got " + value);
        }
        return value;
    }

    /** An unmodifiable copy in the given order; names non-blank, amounts finite and >= 0. */
    static Map<String, Double> amounts(String field, Map<String, Double> value) {
        notNull(field, value);
        Map<String, Double> copy = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : value.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isBlank()) {
                String shown = name == null ? "null" : "\"" + name + "\"";
                throw bad(field, "names must not be blank, got " + shown);
            }
            Double amount = e.getValue();
            if (amount == null || !Double.isFinite(amount) || amount < 0) {
                throw bad(field, "amounts must be finite and >= 0, got " + name + "=" + amount);
            }
            copy.put(name, amount);
        }
        return Collections.unmodifiableMap(copy);
    }

    /** An unmodifiable copy in the given order; elements non-blank. */
    static Set<String> names(String field, Collection<String> value) {
        return Collections.unmodifiableSet(new LinkedHashSet<>(checkNames(field, value)));
    }

    static List<String> nameList(String field, Collection<String> value) {
        return List.copyOf(checkNames(field, value));
    }

    private static Collection<String> checkNames(String field, Collection<String> value) {
        notNull(field, value);
        for (String s : value) {
            if (s == null || s.isBlank()) {
                throw bad(field, "must not contain " + (s == null ? "null" : "a blank string"));
            }
        }
        return value;
    }
}
