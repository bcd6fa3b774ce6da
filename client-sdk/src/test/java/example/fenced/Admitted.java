package example.fenced;

import java.io.Serializable;

/** A task argument or result that the deserialization filter tests admit (outside io.cohort, which is always admitted). */
public record Admitted(int n) implements Serializable {}
