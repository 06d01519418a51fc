package io.pgamqp.embedded;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.slf4j.Logger;

/** Removes the embedded servers' temporary work directories. */
final class WorkDirectories {

  private WorkDirectories() {
  }

  /**
   * Deletes {@code root} and everything under it without following symbolic links; a failure is logged as a
   * warning to {@code log}, since a leftover temporary directory is not worth failing a shutdown over.
   */
  static void deleteRecursively(Path root, Logger log) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      log.warn("Could not delete the work directory {}: {}", root, e.toString());
    }
  }
}
