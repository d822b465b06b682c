import 'reflect-metadata';
import { parse, type GraphQLSchema } from 'graphql';
import { MODULES } from '../../src/modules';
import { buildMedpsimSchema } from '../../src/schema/build';
import { assertQueryLimits, queryDepth } from '../../src/schema/limits';

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildMedpsimSchema(MODULES);
});

function limitError(query: string, variables: Record<string, unknown>, maxDepth: number, maxComplexity: number) {
  try {
    assertQueryLimits(schema, { document: parse(query), variables }, { maxDepth, maxComplexity });
    return null;
  } catch (error) {
    return (error as { extensions: Record<string, unknown> }).extensions;
  }
}

describe('depth limit', () => {
  const deep = `{ datasets { images { edges { node { dataset { images { edges { node { id } } } } } } } } }`;

  it('counts nested fields, through fragments, without introspection', () => {
    expect(queryDepth(parse(deep))).toBe(9);
    expect(queryDepth(parse(`{ datasets { ...D } } fragment D on Dataset { images { edges { node { id } } } }`))).toBe(5);
    expect(queryDepth(parse(`{ __schema { types { fields { type { ofType { name } } } } } }`))).toBe(0);
    expect(queryDepth(parse(`query A { datasets { id } } query B { datasets { images { edges { cursor } } } }`), 'A')).toBe(2);
  });

  it('rejects a query deeper than the limit with QUERY_TOO_DEEP, accepts it at the limit', () => {
    expect(limitError(deep, {}, 8, 1e9)).toEqual({ code: 'QUERY_TOO_DEEP', depth: 9, maxDepth: 8 });
    expect(limitError(deep, {}, 9, 1e9)).toBeNull();
  });
});

describe('complexity limit', () => {
  it('charges list fields their page size times their children', () => {
    const query = `query ($n: Int!) { dataset(id: "x") { images(first: $n) { edges { node { id width height } } } } }`;
    expect(limitError(query, { n: 10 }, 10, 200)).toBeNull();
    expect(limitError(query, { n: 500 }, 10, 200)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxComplexity: 200 });
  });
});
