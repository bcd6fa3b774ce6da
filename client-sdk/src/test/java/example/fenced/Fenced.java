package example.fenced;

import java.io.Serializable;

/** A task argument or result that the deserialization filter tests leave out of their allow-list. */
public record Fenced(int n) implements Serializable {}
