package cli

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/condcache/condcache/internal/config"
)

// PayloadCommand is `condcache payload`: `payload put` stores a payload
// file as nopayloadclient's insertPayload does, with a preview.
func PayloadCommand(env config.Env, s Streams) *cobra.Command {
	g := NewGroup("payload", "payload files: put one into a repository and attach its IOV", env)
	var a attachSpec
	var repo string
	put := &cobra.Command{Use: "put FILE", Args: cobra.ExactArgs(1),
		Short: "copy a file into a file:// repository, create its IOV and attach it, showing first what it changes (asks unless --yes)"}
	a.flags(put)
	put.Flags().StringVar(&repo, "repo", "", "the payload repository (file://) the file is copied into (required)")
	g.Leaf(g.Cmd, put, s, func(ctx context.Context, c *Client, args []string) error {
		if repo == "" || a.pt == "" || a.gt == "" {
			return Usagef("--repo, --gt and --type are required")
		}
		return putPayload(ctx, c, g, s, &a, repo, args[0])
	})
	return g.Cmd
}

// PayloadPath is where a payload file goes in a repository, and its
// payload URL: TYPE/aa/bb/MD5_NAME, aa and bb the checksum's first two
// pairs of digits (nopayloadclient's layout).
func PayloadPath(payloadType, md5sum, file string) string {
	return path.Join(payloadType, md5sum[0:2], md5sum[2:4], md5sum+"_"+filepath.Base(file))
}

// FileMD5 is a file's MD5 (hex) and size, read once.
func FileMD5(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func putPayload(ctx context.Context, c *Client, g *Group, s Streams, a *attachSpec, repo, file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return Usagef("%v", err)
	}
	if !st.Mode().IsRegular() {
		return Usagef("%s is not a regular file", file)
	}
	sum, size, err := FileMD5(file)
	if err != nil {
		return Usagef("%v", err)
	}
	r, err := c.Repository(ctx, repo)
	if err != nil {
		return err
	}
	base, err := url.Parse(r.BaseURL)
	if err != nil || base.Scheme != "file" {
		return Usagef("repository %s is at %s: payload put copies into file:// repositories only", cell(repo), r.BaseURL)
	}
	rel := PayloadPath(a.pt, sum, file)
	dest := filepath.Join(filepath.FromSlash(base.Path), filepath.FromSlash(rel))
	a.url, a.checksum, a.size = rel, sum, &size
	fmt.Fprintf(s.Err, "%s: md5 %s, %d bytes → %s (repository %s)\n", file, sum, size, dest, r.Name)
	apply := func(ctx context.Context, iov int64) (func(), error) {
		created, err := copyInto(file, dest, sum)
		if err != nil {
			return nil, err
		}
		var rec FileRecord
		if err := c.Do(ctxNoCancel(ctx), Request{Method: http.MethodPost, Path: V2 + "files",
			Body: map[string]any{"iov": iov, "repository": r.Name, "path": rel}}, &rec); err != nil {
			if created {
				os.Remove(dest)
			}
			return nil, err
		}
		return func() {
			_ = c.Do(ctxNoCancel(ctx), Request{Method: http.MethodDelete, Path: V2 + "files/" + itoa(rec.ID)}, nil)
			if created {
				os.Remove(dest)
			}
		}, nil
	}
	return a.run(ctx, c, g, s, apply)
}

// copyInto copies file to dest under a temporary name renamed at the
// end, so that dest is whole or absent. A dest already there with the
// same MD5 is kept (created false); with another it is an error.
func copyInto(file, dest, sum string) (created bool, err error) {
	if _, err := os.Stat(dest); err == nil {
		got, _, err := FileMD5(dest)
		if err != nil {
			return false, err
		}
		if got != sum {
			return false, fmt.Errorf("%s exists with another content (md5 %s): not overwritten", dest, got)
		}
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return false, err
	}
	in, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return false, err
	}
	if err = tmp.Sync(); err != nil {
		return false, err
	}
	if err = tmp.Close(); err != nil {
		return false, err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return false, err
	}
	if err = os.Rename(tmp.Name(), dest); err != nil {
		return false, err
	}
	return true, nil
}

// readFileOrStdin reads a file, "-" being standard input.
func readFileOrStdin(name string, s Streams) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(s.In)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, Usagef("%v", err)
	}
	return b, nil
}
