package localstack

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// account is the unprivileged OS user the PostgreSQL programs run as when
// we are root, because postgres and initdb refuse to run as root. A nil
// *account means "run as ourselves"; all methods accept it.
type account struct {
	name     string
	uid, gid int
}

// pgAccount returns the account for PostgreSQL programs: nil unless we are
// root, else the "postgres" user that the Debian packages create.
func pgAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	const name = "postgres"
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root, but PostgreSQL refuses to run as root and "+
			"there is no %q OS user to run it as (%v); create one (useradd --system %s, or "+
			"install postgresql-15, which creates it) or run as a non-root user", name, err, name)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return &account{name: name, uid: uid, gid: gid}, nil
}

// credential is what SysProcAttr needs to run a child as a.
func (a *account) credential() *syscall.Credential {
	if a == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
}

// mkdirOwned creates dir with mode 0700 (PostgreSQL insists on it for data
// directories) owned by a, so initdb and pg_basebackup can fill it.
func (a *account) mkdirOwned(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	return a.chown(dir)
}

func (a *account) chown(path string) error {
	if a == nil {
		return nil
	}
	return os.Lchown(path, a.uid, a.gid)
}

// makeReachable ensures a can traverse every directory down to and
// including dir. Postgres runs as a, so it cannot reach data directories
// below, say, the 0700 directories t.TempDir and os.MkdirTemp create for
// root. Only search permission (o+x, no listing) is added, and only to dir
// itself and to directories inside the system temp directory; anything
// else (like /root) is the caller's to fix, so we report it instead of
// loosening it silently.
func (a *account) makeReachable(dir string) error {
	if a == nil {
		return nil
	}
	tmp, err := filepath.Abs(os.TempDir())
	if err != nil {
		return err
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !a.canSearch(fi) {
			inTemp := strings.HasPrefix(p, tmp+string(filepath.Separator))
			if p != dir && !inTemp {
				return fmt.Errorf("state dir %s is not reachable by the %s user that PostgreSQL "+
					"runs as, because %s is not searchable for it; use a state directory "+
					"elsewhere or run chmod o+x %s", dir, a.name, p, p)
			}
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// canSearch approximates the kernel's check (ignoring supplementary groups
// and ACLs, which can only make us chmod where it was not needed).
func (a *account) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case int(st.Uid) == a.uid:
		return perm&0o100 != 0
	case int(st.Gid) == a.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
