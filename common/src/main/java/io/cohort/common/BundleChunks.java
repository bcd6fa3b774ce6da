package io.cohort.common;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.BundleChunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A shipped bundle's bytes as {@link BundleChunk}s, the first naming the bundle (an empty file
 * still gives that one chunk): what a client uploads and a coordinator serves. Opens its stream
 * at the first chunk and closes it at the end.
 */
public final class BundleChunks implements Iterator<BundleChunk> {
    /** Opens the bytes to send. */
    @FunctionalInterface
    public interface Source {
        InputStream open() throws IOException;
    }

    private final Source source;
    private final Bundle bundle;
    private final int chunkBytes;
    private InputStream in;
    private ByteString next;
    private boolean first = true;
    private boolean ended;

    public BundleChunks(Source source, Bundle bundle, int chunkBytes) {
        this.source = source;
        this.bundle = bundle;
        this.chunkBytes = chunkBytes;
    }

    @Override
    public boolean hasNext() {
        if (next == null && !ended) {
            try {
                if (in == null) {
                    in = source.open();
                }
                byte[] buf = in.readNBytes(chunkBytes);
                if (buf.length == 0 && !first) {
                    ended = true;
                    in.close();
                } else {
                    next = ByteString.copyFrom(buf);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return next != null;
    }

    @Override
    public BundleChunk next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        BundleChunk.Builder c = BundleChunk.newBuilder().setData(next);
        if (first) {
            c.setBundle(bundle);
            first = false;
        }
        next = null;
        return c.build();
    }
}
