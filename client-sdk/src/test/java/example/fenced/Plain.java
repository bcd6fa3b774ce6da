package example.fenced;

import java.io.Serializable;

/** An application's class that is not a record: a client admits it only when told to. */
public final class Plain implements Serializable {
    private static final long serialVersionUID = 1L;
    public final int n;

    public Plain(int n) {
        this.n = n;
    }
}
