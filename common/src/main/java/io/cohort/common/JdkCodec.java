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
        try (ObjectInputStream in = new LoaderObjectInputStream(bytes.newInput(), loader)) {
            in.setObjectInputFilter(info -> {
                ObjectInputFilter.Status status = filter.checkInput(info);
                if (status == ObjectInputFilter.Status.REJECTED && refused[1] == null) {
                    refused[0] = info.serialClass() == null ? null : info.serialClass().getName();
                    refused[1] = filter instanceof DeserializationFilter d ? d.explain(info)
                            : "class " + refused[0] + " refused by the deserialization filter";
                }
                return status;
            });
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new CodecException("class not found: " + e.getMessage(), e.getMessage(), e);
        } catch (InvalidClassException e) {
            if (refused[1] != null) {
                throw new CodecException(refused[1], refused[0], e);
            }
            throw new CodecException("class " + e.classname + " cannot be decoded: " + e.getMessage(), e.classname, e);
        } catch (IOException | RuntimeException e) {
            throw new CodecException("cannot decode: " + e, null, e);
        }
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
