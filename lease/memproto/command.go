package memproto

// Command identifies a parsed request.
type Command uint8

// Commands understood by the parser.
const (
	CmdUnknown Command = iota
	CmdGet
	CmdGets
	CmdGat
	CmdGats
	CmdSet
	CmdAdd
	CmdReplace
	CmdAppend
	CmdPrepend
	CmdCas
	CmdDelete
	CmdIncr
	CmdDecr
	CmdTouch
	CmdVersion
	CmdVerbosity
	CmdStats
	CmdFlushAll
	CmdQuit
	CmdMetaGet
	CmdMetaSet
	CmdMetaDelete
	CmdMetaArith
	CmdMetaNoop
	CmdMetaDebug
	CmdLeaseGet
	CmdLeaseSet
	CmdLeaseRelease
)

var commandNames = map[string]Command{
	"get": CmdGet, "gets": CmdGets, "gat": CmdGat, "gats": CmdGats,
	"set": CmdSet, "add": CmdAdd, "replace": CmdReplace, "append": CmdAppend,
	"prepend": CmdPrepend, "cas": CmdCas, "delete": CmdDelete, "incr": CmdIncr,
	"decr": CmdDecr, "touch": CmdTouch, "version": CmdVersion,
	"verbosity": CmdVerbosity, "stats": CmdStats, "flush_all": CmdFlushAll,
	"quit": CmdQuit, "mg": CmdMetaGet, "ms": CmdMetaSet, "md": CmdMetaDelete,
	"ma": CmdMetaArith, "mn": CmdMetaNoop, "me": CmdMetaDebug,
	"lease-get": CmdLeaseGet, "lease-set": CmdLeaseSet, "lease-release": CmdLeaseRelease,
}

func (c Command) String() string {
	for n, v := range commandNames {
		if v == c {
			return n
		}
	}
	return "unknown"
}

// IsMeta reports whether c is a meta command, whose q flag silences only
// some answers and never an error.
func (c Command) IsMeta() bool {
	return c >= CmdMetaGet && c <= CmdMetaDebug
}

func (c Command) isLease() bool {
	return c == CmdLeaseGet || c == CmdLeaseSet || c == CmdLeaseRelease
}

// IsStorage reports whether c is a classic storage command (it carries data).
func (c Command) IsStorage() bool {
	return c >= CmdSet && c <= CmdCas
}
