package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.function.Executable;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** Assertions on the errors the amqp functions raise: SQLSTATE, message and a HINT telling the caller what to do. */
final class ServerErrors {

    private ServerErrors() {
    }

    /**
     * Runs {@code call}, expecting a server ERROR with {@code sqlState} whose message contains {@code messagePart}
     * and that carries a non-blank HINT; returns it for further checks.
     */
    static ServerErrorMessage assertServerError(String sqlState, String messagePart, Executable call) {
        PSQLException thrown = assertInstanceOf(PSQLException.class, assertThrows(Exception.class, call));
        ServerErrorMessage error = thrown.getServerErrorMessage();
        assertNotNull(error, () -> "not a server error: " + thrown);
        assertEquals(sqlState, error.getSQLState(), () -> "SQLSTATE of: " + error);
        assertTrue(error.getMessage().contains(messagePart),
                () -> "message should contain \"" + messagePart + "\" but was: " + error.getMessage());
        assertNotNull(error.getHint(), () -> "no HINT in: " + error);
        assertFalse(error.getHint().isBlank(), () -> "blank HINT in: " + error);
        return error;
    }

    /** Like {@link #assertServerError}, for errors where PostgreSQL itself (not our functions) reports, without HINT. */
    static ServerErrorMessage assertServerErrorState(String sqlState, Executable call) {
        PSQLException thrown = assertInstanceOf(PSQLException.class, assertThrows(Exception.class, call));
        ServerErrorMessage error = thrown.getServerErrorMessage();
        assertNotNull(error, () -> "not a server error: " + thrown);
        assertEquals(sqlState, error.getSQLState(), () -> "SQLSTATE of: " + error);
        return error;
    }
}
