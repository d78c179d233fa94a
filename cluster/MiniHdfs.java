/*
 * A real HDFS on loopback for Arlequin's tests, demo and benchmarks: Hadoop's own
 * MiniDFSCluster (one NameNode with RPC and WebHDFS, one DataNode) in this JVM.
 *
 * Usage: java -cp <minicluster jars>:<this class> MiniHdfs --base-dir DIR [--superuser hdfs]
 *
 * Prints one JSON line {"event": "ready", "rpc": "hdfs://127.0.0.1:P", "webhdfs": ..., ...}
 * on stdout once the cluster is up, then reads commands, one a line, on stdin:
 *   stop-namenode   shut the NameNode down (the DataNode keeps running)
 *   start-namenode  restart it on the same ports, wait until it leaves safe mode
 *   quit            shut everything down and exit
 * and answers each with one JSON line. End of stdin (the parent died) and SIGTERM both
 * shut the cluster down and exit, so no process is ever left behind.
 *
 * Permissions are enforced. The NameNode runs as --superuser (default "hdfs"), so any other
 * user (the OS user of the tests) is checked like a real client; "/" is made world-writable
 * with the sticky bit, like /tmp, so clients can create their own directories.
 */

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.MiniDFSCluster;

public final class MiniHdfs {
    private static volatile MiniDFSCluster cluster;

    private static synchronized void say(String json) {
        System.out.println(json);
        System.out.flush();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String uris(String event) {
        int rpc = cluster.getNameNodePort();
        int http = cluster.getNameNode(0).getHttpAddress().getPort();
        long pid = ProcessHandle.current().pid();
        return "{\"event\": " + quote(event)
                + ", \"rpc\": " + quote("hdfs://127.0.0.1:" + rpc)
                + ", \"webhdfs\": " + quote("webhdfs://127.0.0.1:" + http)
                + ", \"http\": " + quote("http://127.0.0.1:" + http)
                + ", \"rpc_port\": " + rpc + ", \"http_port\": " + http + ", \"pid\": " + pid + "}";
    }

    private static synchronized void shutdown() {
        MiniDFSCluster c = cluster;
        cluster = null;
        if (c != null) {
            c.shutdown(true);
        }
    }

    public static void main(String[] args) throws Exception {
        String baseDir = null;
        String superuser = "hdfs";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--base-dir": baseDir = args[++i]; break;
                case "--superuser": superuser = args[++i]; break;
                default: throw new IllegalArgumentException("unknown argument: " + args[i]);
            }
        }
        if (baseDir == null) {
            throw new IllegalArgumentException("--base-dir DIR is required");
        }
        // Simple authentication: Hadoop takes the user from HADOOP_USER_NAME (env, then property).
        System.setProperty("HADOOP_USER_NAME", superuser);

        Configuration conf = new Configuration();
        conf.setBoolean("dfs.permissions.enabled", true);
        conf.setBoolean("dfs.webhdfs.enabled", true);
        conf.set("hadoop.tmp.dir", new File(baseDir, "tmp").getAbsolutePath());
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.hostname", "127.0.0.1");
        // Small blocks would only slow the benchmark down; keep Hadoop's defaults otherwise.
        conf.setInt("dfs.replication", 1);
        // Leave safe mode at once after a restart (one DataNode holds every block).
        conf.setInt("dfs.namenode.safemode.extension", 0);

        Runtime.getRuntime().addShutdownHook(new Thread(MiniHdfs::shutdown, "minihdfs-shutdown"));
        cluster = new MiniDFSCluster.Builder(conf, new File(baseDir, "dfs"))
                .numDataNodes(1)
                .format(true)
                .build();
        cluster.waitActive();
        FileSystem fs = cluster.getFileSystem();
        fs.setPermission(new Path("/"), new FsPermission((short) 01777));
        say(uris("ready"));

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String command = line.trim();
            try {
                if (command.equals("quit")) {
                    break;
                } else if (command.equals("stop-namenode")) {
                    cluster.shutdownNameNode(0);
                    say("{\"event\": \"namenode-stopped\"}");
                } else if (command.equals("start-namenode")) {
                    cluster.restartNameNode(0, true);
                    cluster.waitActive();
                    say(uris("namenode-started"));
                } else if (!command.isEmpty()) {
                    say("{\"event\": \"error\", \"message\": " + quote("unknown command: " + command) + "}");
                }
            } catch (Exception e) {
                say("{\"event\": \"error\", \"message\": " + quote(String.valueOf(e)) + "}");
            }
        }
        shutdown();
        say("{\"event\": \"stopped\"}");
        System.exit(0);
    }
}
