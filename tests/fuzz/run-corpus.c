/* Runs a libFuzzer target's seed corpus through its entry point without
 * libFuzzer, so every build (normal and sanitizer) replays the corpus.
 * Shared by every fuzz target (nbd, qmp, api):
 *   test-fuzz-corpus-X DIR...   (every regular file in each DIR) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
  int files = 0;
  for (int i = 1; i < argc; i++) {
    /* Absolute: a target may change directory (the QMP sandbox does). */
    char *dir = realpath(argv[i], NULL);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
      fprintf(stderr, "cannot open corpus %s\n", argv[i]);
      return 1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      struct stat st;
      if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        continue;
      FILE *f = fopen(path, "rb");
      if (!f)
        return 1;
      uint8_t *buf = malloc((size_t)st.st_size + 1);
      size_t n = fread(buf, 1, (size_t)st.st_size, f);
      fclose(f);
      LLVMFuzzerTestOneInput(buf, n);
      free(buf);
      files++;
    }
    closedir(d);
    free(dir);
  }
  printf("%d corpus files replayed\n", files);
  return files > 0 ? 0 : 1;
}
