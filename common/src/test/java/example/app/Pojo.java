package example.app;

import java.io.Serializable;

/** An application's class, outside Cohort's packages (which a client always admits). */
public final class Pojo implements Serializable {
    private static final long serialVersionUID = 1L;
    public int value = 3;
}
