package io.cohort.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Defaults for the commands' flags from a properties file (the release's {@code conf/cohort.conf}):
 * the key is the command's name, a dot, and the flag without its dashes, such as
 * {@code coordinator.port} or {@code worker.slots}. A flag on the command line wins. A key that
 * names no flag is refused when the file is read, so a typo is not silently ignored.
 */
final class ConfigFile implements CommandLine.IDefaultValueProvider {
    private final Path file;
    private final Properties values;

    private ConfigFile(Path file, Properties values) {
        this.file = file;
        this.values = values;
    }

    /** Reads {@code file}; a missing or unreadable file is an error naming it. */
    static ConfigFile read(Path file) {
        Properties values = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            values.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the config file " + file + ": " + e, e);
        }
        return new ConfigFile(file, values);
    }

    private static String key(OptionSpec option) {
        return option.command().name() + "." + option.longestName().replaceFirst("^-+", "");
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        return arg instanceof OptionSpec option ? values.getProperty(key(option)) : null;
    }

    /** Refuses keys that name no flag of {@code root}'s commands, listing them. */
    void check(CommandLine root) {
        TreeSet<String> unknown = new TreeSet<>(values.stringPropertyNames());
        for (CommandLine command : root.getSubcommands().values()) {
            for (OptionSpec option : command.getCommandSpec().options()) {
                unknown.remove(key(option));
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(file + ": no such flag: " + String.join(", ", unknown)
                    + " (a key is COMMAND.FLAG, e.g. coordinator.port)");
        }
    }
}
