package example.app;

/** An application's exception, outside Cohort's packages and java.base. */
public final class AppException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AppException(String message) {
        super(message);
    }
}
