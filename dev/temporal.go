package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// temporalOptions configure the embedded server. The shape follows the
// Temporal CLI's dev server (temporalio/cli internal/devserver): SQLite
// persistence, one history shard, static hosts instead of membership, every
// service on loopback.
type temporalOptions struct {
	IP   string
	Port int
	// DatabaseFile is the SQLite file; "" keeps everything in memory.
	DatabaseFile string
	Namespaces   []string
	Logger       log.Logger
}

const clusterName = "active"

func newTemporalServer(o temporalOptions) (temporal.Server, error) {
	ports, err := freePorts(o.IP, 4) // frontend HTTP, history, matching, worker
	if err != nil {
		return nil, err
	}
	httpPort, historyPort, matchingPort, workerPort := ports[0], ports[1], ports[2], ports[3]

	sqlConf, err := sqliteConfig(o.DatabaseFile, o.Namespaces)
	if err != nil {
		return nil, err
	}

	hostPort := func(p int) string { return net.JoinHostPort(o.IP, strconv.Itoa(p)) }
	service := func(p int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: p, BindOnIP: o.IP}}
	}
	frontend := service(o.Port)
	frontend.RPC.HTTPPort = httpPort

	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             hostPort(o.Port),
			HTTPAddress:            hostPort(httpPort),
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): frontend,
		string(primitives.HistoryService):  service(historyPort),
		string(primitives.MatchingService): service(matchingPort),
		string(primitives.WorkerService):   service(workerPort),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort(o.Port)

	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("creating the authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("creating the claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	return temporal.NewServer(
		temporal.WithConfig(&conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(hostPort(o.Port)),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(historyPort)),
			primitives.MatchingService: static.SingleLocalHost(hostPort(matchingPort)),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(workerPort)),
		}),
		temporal.WithLogger(o.Logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
}

// sqliteConfig sets up the database: the schema when the file is new, and
// the namespaces (creating an existing namespace is a no-op, so a restart
// keeps its data).
func sqliteConfig(file string, namespaces []string) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if file == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		// The plugin creates the schema on the first connection and keeps
		// that connection for the life of the process.
		conf.DatabaseName = strconv.Itoa(rand.IntN(9_999_999))
	} else {
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		conf.DatabaseName = file
		if _, err := os.Stat(file); os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return nil, err
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("setting up the SQLite schema in %s: %w", file, err)
			}
		}
	}
	nss := make([]*sqliteschema.NamespaceConfig, 0, len(namespaces))
	for _, ns := range namespaces {
		c, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		nss = append(nss, c)
	}
	if err := sqliteschema.CreateNamespaces(conf, nss...); err != nil {
		return nil, fmt.Errorf("creating namespaces: %w", err)
	}
	return conf, nil
}

// freePorts finds n distinct free ports on ip. They are free when checked,
// which is good enough for the internal services of a dev server.
func freePorts(ip string, n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
