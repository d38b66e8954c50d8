// `npm run kafka`: one Kafka node for a machine without Docker, on KAFKA_PORT (9092), until Ctrl-C.
import { startKafkaNode } from '../test/infra/kafka/kafka-node.js';

const port = Number(process.env.KAFKA_PORT ?? 9092);
const node = await startKafkaNode({ port });
console.log(
  `Kafka ready on ${node.brokers.join(',')} (KRaft, one node; data removed on exit). Ctrl-C stops it.`,
);
const stop = async () => {
  await node.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
