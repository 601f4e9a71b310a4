package dev.concord.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Base of the SDK's expandable enums: a wire string that may be one of the known constants or a
 * value added to the contract after this SDK was built, which is kept as it came.
 */
public abstract class StringEnum {
  private final String value;

  /** An enum value with its wire string. */
  protected StringEnum(String value) {
    this.value = Objects.requireNonNull(value, "value");
  }

  /** The wire string, e.g. {@code "ACQUIRED"}. */
  public final String value() {
    return value;
  }

  /** Known constants by wire string, in declaration order. */
  @SafeVarargs
  protected static <T extends StringEnum> Map<String, T> index(T... constants) {
    Map<String, T> known = new LinkedHashMap<>();
    for (T constant : constants) {
      known.put(constant.value(), constant);
    }
    return Collections.unmodifiableMap(known);
  }

  @Override
  public final boolean equals(Object other) {
    return other != null
        && other.getClass() == getClass()
        && value.equals(((StringEnum) other).value);
  }

  @Override
  public final int hashCode() {
    return value.hashCode();
  }

  @Override
  public final String toString() {
    return value;
  }
}
