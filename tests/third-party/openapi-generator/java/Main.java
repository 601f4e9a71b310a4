import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.openapitools.client.ApiClient;
import org.openapitools.client.ApiException;
import org.openapitools.client.api.EventServiceApi;
import org.openapitools.client.api.LockServiceApi;
import org.openapitools.client.model.AcquireLockBody;
import org.openapitools.client.model.AppendToStreamBody;
import org.openapitools.client.model.AppendToStreamResponse;
import org.openapitools.client.model.ErrorCode;
import org.openapitools.client.model.EventData;
import org.openapitools.client.model.Lock;
import org.openapitools.client.model.Problem;
import org.openapitools.client.model.ReadStreamResponse;
import org.openapitools.client.model.RecordedEvent;
import org.openapitools.client.model.ReleaseLockBody;

/**
 * A user's program on OpenAPI Generator's java client (okhttp-gson): it acquires a lock, meets the
 * typed 409 of a second owner, releases it, appends an event and reads it back.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    ApiClient client = new ApiClient();
    client.setBasePath(System.getenv("CONCORD_BASE_URL"));
    client.setApiKey(System.getenv("CONCORD_API_KEY"));
    String suffix = UUID.randomUUID().toString().substring(0, 12);
    locks(new LockServiceApi(client), "tp-java-" + suffix);
    events(new EventServiceApi(client), "tp-java-" + suffix);
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }

  private static void locks(LockServiceApi api, String name) throws ApiException, IOException {
    Lock held =
        api.acquireLock(name, new AcquireLockBody().owner("alice").ttl("30s"), null).getLock();
    check(
        held != null && held.getFencingToken() != null && held.getFencingToken() >= 1,
        "acquire: " + held);
    try {
      api.acquireLock(name, new AcquireLockBody().owner("bob").ttl("30s"), null);
      throw new IllegalStateException("a second owner acquired a held lock");
    } catch (ApiException error) {
      Problem problem = Problem.fromJson(error.getResponseBody());
      check(error.getCode() == 409, "second owner: status " + error.getCode());
      check(problem.getCode() == ErrorCode.ERROR_CODE_LOCK_CONFLICT, "second owner: " + problem);
    }
    long token = held.getFencingToken();
    api.releaseLock(name, new ReleaseLockBody().owner("alice").fencingToken(token), null);
    System.out.printf("locks: acquired %s (token %d), 409 LOCK_CONFLICT, released%n", name, token);
  }

  private static void events(EventServiceApi api, String stream) throws ApiException {
    EventData event =
        new EventData().eventId(UUID.randomUUID().toString()).type("Tested").data(Map.of("n", 1));
    AppendToStreamResponse appended =
        api.appendToStream(stream, new AppendToStreamBody().events(List.of(event)));
    check(List.of(0L).equals(appended.getRevisions()), "append: " + appended);
    ReadStreamResponse read = api.readStream(stream, null, null, null, null);
    List<RecordedEvent> got = read.getEvents();
    check(got != null && got.size() == 1 && "Tested".equals(got.get(0).getType()), "read: " + read);
    System.out.printf("events: appended to %s and read it back%n", stream);
  }
}
