package dev.concord.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A model or params object that has a contract JSON form (docs/contract.md). */
public interface JsonModel {
  /** The contract JSON of this object: fields without a value are left out. */
  ObjectNode toJson();
}
