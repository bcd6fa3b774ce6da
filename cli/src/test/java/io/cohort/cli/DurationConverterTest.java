package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DurationConverterTest {
    private final DurationConverter c = new DurationConverter();

    @Test
    void readsTheUsualForms() {
        assertEquals(Duration.ofMillis(500), c.convert("500ms"));
        assertEquals(Duration.ofSeconds(30), c.convert("30s"));
        assertEquals(Duration.ofSeconds(30), c.convert("30"));
        assertEquals(Duration.ofMinutes(2), c.convert("2m"));
        assertEquals(Duration.ofHours(1), c.convert("1h"));
        assertEquals(Duration.ofSeconds(90), c.convert("PT1M30S"));
    }

    @Test
    void refusesWhatIsNotADuration() {
        for (String bad : new String[] {"soon", "s", "-1s", ""}) {
            assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
        }
    }
}
