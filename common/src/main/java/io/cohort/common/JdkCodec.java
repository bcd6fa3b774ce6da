package io.cohort.common;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;

/**
 * JDK serialization, with an {@link ObjectInputFilter} on every decode (by default
 * {@link DeserializationFilter#standard()}); the plainest values (null, boxed numbers, strings,
 * byte arrays) skip the object stream (see {@link PlainValues}).
 */
public final class JdkCodec implements Codec {
    static final JdkCodec INSTANCE = new JdkCodec(DeserializationFilter.standard());
    /**
     * An array of objects may declare at most this many elements per byte of its stream (plus
     * a little): every element takes at least a byte, and a collection's readObject sizes its
     * table (checked as an array too) at no more than 8 slots per element it then reads.
     */
    private static final long MAX_ELEMENTS_PER_BYTE = 8;

    static {
        JvmFilterFactory.install();
    }

    private final ObjectInputFilter filter;

    public JdkCodec(ObjectInputFilter filter) {
        this.filter = filter;
    }

    @Override
    public ByteString encode(Object value) {
        ByteString plain = PlainValues.encode(value);
        if (plain != null) {
            return plain;
        }
        ByteString.Output out = ByteString.newOutput(256);
        try (ObjectOutputStream oos = new ObjectOutputStream(out)) {
            oos.writeObject(value);
        } catch (NotSerializableException e) {
            throw new CodecException("not serializable: " + e.getMessage(), e.getMessage(), e);
        } catch (IOException e) {
            throw new CodecException("cannot encode " + className(value) + ": " + e, className(value), e);
        }
        return out.toByteString();
    }

    @Override
    public Object decode(ByteString bytes, ClassLoader loader) {
        Object plain = PlainValues.decode(bytes);
        if (plain != PlainValues.NOT_PLAIN) {
            return plain;
        }
        String[] refused = new String[2];   // the class, and why
        long size = bytes.size();
        ObjectInputFilter recording = info -> {
            ObjectInputFilter.Status status = filter.checkInput(info);
            if (status != ObjectInputFilter.Status.REJECTED && info.arrayLength() > 0 && !fits(info, size)) {
                // Allocated at its declared length before its elements are read: no longer than the bytes could fill.
                status = ObjectInputFilter.Status.REJECTED;
                if (refused[1] == null) {
                    refused[0] = info.serialClass() == null ? null : info.serialClass().getName();
                    refused[1] = "an array of " + info.arrayLength() + " elements declared in a stream of " + size
                            + " bytes, which cannot hold them";
                }
            }
            if (status == ObjectInputFilter.Status.REJECTED && refused[1] == null) {
                refused[0] = info.serialClass() == null ? null : info.serialClass().getName();
                refused[1] = filter instanceof DeserializationFilter d ? d.explain(info)
                        : "class " + refused[0] + " refused by the deserialization filter";
            }
            return status;
        };
        // Streams a readObject opens on this thread meanwhile get the same filter (JvmFilterFactory).
        ObjectInputFilter outer = JvmFilterFactory.enter(recording);
        try (ObjectInputStream in = new LoaderObjectInputStream(bytes.newInput(), loader)) {
            in.setObjectInputFilter(recording);
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new CodecException("class not found: " + e.getMessage(), e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            if (refused[1] != null) {   // refused here or in a stream opened inside this one
                throw new CodecException(refused[1], refused[0], e);
            }
            if (e instanceof InvalidClassException ice) {
                throw new CodecException("class " + ice.classname + " cannot be decoded: " + e.getMessage(),
                        ice.classname, e);
            }
            throw new CodecException("cannot decode: " + e, null, e);
        } finally {
            JvmFilterFactory.exit(outer);
        }
    }

    /** Whether an array of the declared length could come from a stream of {@code size} bytes. */
    private static boolean fits(ObjectInputFilter.FilterInfo info, long size) {
        Class<?> type = info.serialClass();
        Class<?> element = type == null ? null : type.getComponentType();
        if (element != null && element.isPrimitive()) {
            long width = element == long.class || element == double.class ? 8
                    : element == int.class || element == float.class ? 4
                    : element == short.class || element == char.class ? 2 : 1;
            return info.arrayLength() <= size / width;
        }
        return info.arrayLength() <= MAX_ELEMENTS_PER_BYTE * size + 64;
    }

    private static String className(Object value) {
        return value == null ? "null" : value.getClass().getName();
    }

    /** Resolves classes through a given loader (the worker's, with the application's jars). */
    private static final class LoaderObjectInputStream extends ObjectInputStream {
        private final ClassLoader loader;

        LoaderObjectInputStream(InputStream in, ClassLoader loader) throws IOException {
            super(in);
            this.loader = loader;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            try {
                return Class.forName(desc.getName(), false, loader);
            } catch (ClassNotFoundException e) {
                return super.resolveClass(desc);   // primitives and the platform's own classes
            }
        }
    }
}
