package dev.align4j.core;

import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Config records built and changed by setting name, one generic builder instead of one per method:
 * {@code Configs.with(Sft.Config.DEFAULTS, "steps", 30, "lr", 1e-2)}. A component that is itself a record (the run
 * settings, batching, rollouts) is flattened: its settings are named directly, as in the saved {@code *_config.json}.
 * Values are converted to the component's type (numbers across int/long/double, enum constants from their names
 * through the enum's {@code parse(String)} when it has one, lists element by element); the record's own constructor
 * validates the result. A name the record does not have is an error listing the names it does have.
 */
public final class Configs {
    private Configs() {}

    /** A record of {@code type} from name → value pairs; every setting must be named. */
    public static <R extends Record> R of(Class<R> type, Map<String, ?> base, Object... namesAndValues) {
        Map<String, Object> values = new LinkedHashMap<>(base);
        values.putAll(pairs(namesAndValues));
        requireKnown(type, values.keySet());
        return build(type, null, name -> {
            if (!values.containsKey(name)) throw new IllegalArgumentException(type.getName() + ": no value for '" + name + "'");
            return values.get(name);
        });
    }

    /** {@code base} with more name → value pairs: shared defaults that several config types extend. */
    public static Map<String, Object> plus(Map<String, ?> base, Object... namesAndValues) {
        Map<String, Object> out = new LinkedHashMap<>(base);
        out.putAll(pairs(namesAndValues));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** A copy of {@code config} with the named settings changed. */
    public static <R extends Record> R with(R config, Object... namesAndValues) {
        Map<String, Object> changes = pairs(namesAndValues);
        requireKnown(config.getClass(), changes.keySet());
        return from(config, changes::get);
    }

    /** A copy of {@code config} whose settings take {@code lookup}'s value where it returns one (not null). */
    @SuppressWarnings("unchecked")
    public static <R extends Record> R from(R config, Function<String, Object> lookup) {
        return build((Class<R>) config.getClass(), config, lookup);
    }

    /** The flattened setting names of a config type, in declaration order. */
    public static Set<String> names(Class<?> type) {
        Set<String> out = new LinkedHashSet<>();
        for (RecordComponent c : type.getRecordComponents())
            if (c.getType().isRecord()) out.addAll(names(c.getType()));
            else out.add(c.getName());
        return out;
    }

    private static <R> R build(Class<R> type, Object base, Function<String, Object> lookup) {
        RecordComponent[] comps = type.getRecordComponents();
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        try {
            for (int i = 0; i < comps.length; i++) {
                RecordComponent c = comps[i];
                types[i] = c.getType();
                c.getAccessor().setAccessible(true);
                Object old = base == null ? null : c.getAccessor().invoke(base);
                if (c.getType().isRecord()) args[i] = build(c.getType(), old, lookup);
                else {
                    Object v = lookup.apply(c.getName());
                    args[i] = v == null ? old : convert(v, c.getGenericType(), type, c.getName());
                }
            }
            var ctor = type.getDeclaredConstructor(types);
            ctor.setAccessible(true);
            return ctor.newInstance(args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;      // the record's validation (UserError)
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type + " is not a config record: " + e, e);
        }
    }

    private static void requireKnown(Class<?> type, Set<String> given) {
        Set<String> names = names(type);
        for (String n : given)
            if (!names.contains(n)) throw new IllegalArgumentException(type.getName() + " has no setting '" + n + "'; it has " + names);
    }

    private static Map<String, Object> pairs(Object[] nv) {
        if (nv.length % 2 != 0) throw new IllegalArgumentException("expected name, value pairs");
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < nv.length; i += 2) out.put((String) nv[i], nv[i + 1]);
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object convert(Object v, Type target, Class<?> owner, String name) {
        if (target instanceof ParameterizedType p && p.getRawType() == List.class) {
            List<Object> out = new ArrayList<>();
            for (Object x : v instanceof List<?> l ? l : List.of(v)) out.add(convert(x, p.getActualTypeArguments()[0], owner, name));
            return out;
        }
        Class<?> t = (Class<?>) target;
        if (v instanceof Number n) {
            if (t == int.class || t == Integer.class) return n.intValue();
            if (t == long.class || t == Long.class) return n.longValue();
            if (t == double.class || t == Double.class) return n.doubleValue();
            if (t == float.class || t == Float.class) return n.floatValue();
        }
        if (t.isEnum() && v instanceof String s) {
            try {
                Method parse = t.getMethod("parse", String.class);
                return parse.invoke(null, s);
            } catch (NoSuchMethodException e) {
                return Enum.valueOf((Class<Enum>) t, s.toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (java.lang.reflect.InvocationTargetException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new IllegalStateException(e.getCause());
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        Class<?> boxed = t == boolean.class ? Boolean.class : t;
        if (!boxed.isInstance(v)) throw new IllegalArgumentException(owner.getName() + "." + name + ": expected " + t.getSimpleName() + ", got " + v.getClass().getSimpleName());
        return v;
    }
}
