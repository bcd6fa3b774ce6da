package example.fenced;

/** An application's exception: outside io.cohort and java.base, so a client admits it only when told to. */
public class AppFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AppFailure(String message) {
        super(message);
    }
}
