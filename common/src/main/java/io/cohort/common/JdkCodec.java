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
 * JDK serialization, with an {@link ObjectInputFilter} on every decode; the plainest values
 * (null, boxed numbers, strings, byte arrays) skip the object stream (see {@link PlainValues}).
 */
public final class JdkCodec implements Codec {
    /**
     * Refuses classes used in well-known deserialization gadget chains; everything else the
     * class loader can find is admitted (tasks are application classes we cannot list).
     */
    public static final String DEFAULT_FILTER = String.join(";",
            "maxdepth=200",
            "maxrefs=10000000",
            "!org.apache.commons.collections.functors.*",
            "!org.apache.commons.collections4.functors.*",
            "!org.apache.commons.beanutils.BeanComparator",
            "!org.codehaus.groovy.runtime.*",
            "!org.springframework.beans.factory.*",
            "!com.sun.org.apache.xalan.internal.xsltc.trax.*",
            "!org.apache.xalan.xsltc.trax.*",
            "!com.sun.rowset.JdbcRowSetImpl",
            "!javax.management.BadAttributeValueExpException",
            "!java.rmi.server.*",
            "!sun.rmi.*",
            "!bsh.*",
            "!clojure.*",
            "!org.python.*",
            "!com.mchange.v2.c3p0.*",
            "*");

    static final JdkCodec INSTANCE = new JdkCodec(ObjectInputFilter.Config.createFilter(DEFAULT_FILTER));

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
        String[] refused = new String[1];
        try (ObjectInputStream in = new LoaderObjectInputStream(bytes.newInput(), loader)) {
            in.setObjectInputFilter(info -> {
                ObjectInputFilter.Status status = filter.checkInput(info);
                if (status == ObjectInputFilter.Status.REJECTED && info.serialClass() != null) {
                    refused[0] = info.serialClass().getName();
                }
                return status;
            });
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new CodecException("class not found: " + e.getMessage(), e.getMessage(), e);
        } catch (InvalidClassException e) {
            String name = refused[0] != null ? refused[0] : e.classname;
            throw new CodecException("class refused by the deserialization filter: " + name, name, e);
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
